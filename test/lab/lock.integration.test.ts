// The lab's lock and process tracking, against the kernel: two concurrent `lab up` runs of one prefix (one builds,
// the other refuses), a stale lock left by a killed run, and a lab process stranded in an anonymous netns that
// only the owner mark in its environment can find.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UserError} from '../../src/errors.js'
import {acquireLabLock, labLockPath, liveLabLockHolder, parseLabLock, processStartTime} from '../../src/lab/lock.js'
import {existingLabNamespaces, LAB_OWNER_ENV, labDown, processesOwnedByLab} from '../../src/lab/teardown.js'
import {labTopology} from '../../src/lab/topology.js'
import {cliAsync} from '../helpers/cli.js'
import {liveLabSkipReason, sweepStaleLabs} from './live.js'

const prefix = `nilab-t${process.pid}lk`
const skipReason = liveLabSkipReason()

describe('lab lock file (pure)', () => {
  it('parses what acquireLabLock writes, and nothing else', () => {
    expect(parseLabLock('123 4567 up\n')).toEqual({pid: 123, startTime: 4567, what: 'up'})
    expect(parseLabLock('')).toBeUndefined()
    expect(parseLabLock('123 up\n')).toBeUndefined()
    expect(parseLabLock('x 1 up\n')).toBeUndefined()
  })

  it('knows this process is alive and a reaped one is not', () => {
    expect(processStartTime(process.pid)).toBeGreaterThan(0)
    const r = spawnSync('true')
    expect(processStartTime(r.pid!)).toBeUndefined()
  })
})

describe.skipIf(skipReason !== '')(`lab lock and process tracking, prefix ${prefix} (${skipReason || 'root, tools present'})`, () => {
  const topo = labTopology(prefix)
  const strays: ChildProcess[] = []

  beforeAll(async () => {
    await sweepStaleLabs('lk')
  })

  afterAll(async () => {
    for (const c of strays) c.kill('SIGKILL')
    await labDown(prefix).catch(() => undefined)
    if (existsSync(labLockPath(prefix))) unlinkSync(labLockPath(prefix))
  })

  it('two concurrent `lab up` runs: one builds the lab, the other refuses in one line; lab down leaves no process', async () => {
    const [a, b] = await Promise.all([cliAsync(['lab', 'up', '--prefix', prefix]), cliAsync(['lab', 'up', '--prefix', prefix])])
    const ok = [a, b].filter((r) => r.status === 0)
    const refused = [a, b].filter((r) => r.status !== 0)
    expect(ok, `${a.stderr}\n${b.stderr}`).toHaveLength(1)
    expect(refused).toHaveLength(1)
    expect(refused[0]!.status).toBe(2)
    // Refused either while the other held the lock, or (when it lost the race by more than the build) because
    // the lab was up by then. Either way one line, and the lab that was built is intact.
    expect(refused[0]!.stderr).toMatch(/^nodeinspect: lab up: (another `lab up` of lab \S+ is running \(pid \d+\); wait for it to finish|lab \S+ is already up .*)\n$/)
    expect(existingLabNamespaces(prefix)).toEqual([...topo.namespaces].sort())
    // Every listener the lab started carries the owner mark, and only they do.
    const owned = processesOwnedByLab(prefix)
    expect(owned.length).toBeGreaterThanOrEqual(3)
    expect(existsSync(labLockPath(prefix))).toBe(false)

    const down = await cliAsync(['lab', 'down', '--prefix', prefix])
    expect(down.status).toBe(0)
    expect(processesOwnedByLab(prefix)).toEqual([])
    expect(existingLabNamespaces(prefix)).toEqual([])
  }, 60_000)

  it('lab down finds a lab process in an anonymous netns by its owner mark, and kills it', async () => {
    // What a racing teardown used to leave: a listener whose netns lost its name (unshare -n: never named).
    const child = spawn('unshare', ['--net', '--', 'sleep', '300'], {env: {...process.env, [LAB_OWNER_ENV]: prefix}, stdio: 'ignore'})
    strays.push(child)
    await new Promise((r) => setTimeout(r, 200))
    const found = processesOwnedByLab(prefix)
    expect(found.map((p) => p.comm)).toContain('sleep')
    expect(found.every((p) => p.netns.startsWith('net:['))).toBe(true)
    // A lab of a longer prefix is not this lab's.
    expect(processesOwnedByLab(`${prefix}x`)).toEqual([])
    const rep = await labDown(prefix)
    expect(rep.killed.map((k) => k.comm)).toContain('sleep')
    await new Promise((r) => setTimeout(r, 100))
    expect(processesOwnedByLab(prefix)).toEqual([])
  })

  it('a lock held by a live run makes lab down refuse; a stale one (owner gone) is taken over', async () => {
    const holder = spawn('sleep', ['300'], {stdio: 'ignore'})
    strays.push(holder)
    await new Promise((r) => setTimeout(r, 100))
    writeFileSync(labLockPath(prefix), `${holder.pid} ${processStartTime(holder.pid!)} up\n`)
    expect(liveLabLockHolder(prefix)).toMatchObject({pid: holder.pid, what: 'up'})
    const err = await labDown(prefix).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as Error).message).toBe(`lab down: another \`lab up\` of lab ${prefix} is running (pid ${holder.pid}); wait for it to finish`)

    // Same pid, another start time: a recycled pid, so the lock is stale.
    writeFileSync(labLockPath(prefix), `${holder.pid} 1 up\n`)
    expect(liveLabLockHolder(prefix)).toBeUndefined()
    const release = acquireLabLock(prefix, 'down')
    expect(readFileSync(labLockPath(prefix), 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)} down\n`)
    release()
    expect(existsSync(labLockPath(prefix))).toBe(false)
    holder.kill('SIGKILL')
  })
})
