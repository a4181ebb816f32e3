// `lab up` killed with SIGKILL (no cleanup of its own can run) at points spread over its whole build, each time
// followed by `lab down`: nothing of the lab may be left (namespaces, bpffs, state dir, lock, processes anywhere,
// orphaned compilers included), and the host must be exactly as before.
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {labLockPath} from '../../src/lab/lock.js'
import {existingLabNamespaces, labDown, mountsAt, processesOwnedByLab} from '../../src/lab/teardown.js'
import {labTopology} from '../../src/lab/topology.js'
import {ROOT} from '../helpers/fixtures.js'
import {hostStateSnapshot, liveLabSkipReason, sweepStaleLabs} from './live.js'

const prefix = `nilab-t${process.pid}kl`
const topo = labTopology(prefix)
const skipReason = liveLabSkipReason()

/** Every step `lab up --verbose` announces, in order (src/lab/up.ts). */
const STEPS = ['check', 'teardown leftovers', 'namespaces', 'sysctls', 'pods, ext, rules', 'bpffs', 'maps', 'compile', 'bpftool', 'tcx', 'listeners', 'read back', 'state']

/** Start `lab up --verbose`, SIGKILL it `ms` after it announces `step`; resolves with how it ended. */
function killedLabUp(step: string, ms: number): Promise<{signal: NodeJS.Signals | null; status: number | null; reached: string[]}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${ROOT}bin/run.js`, 'lab', 'up', '--prefix', prefix, '--rebuild', '--verbose'], {cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe']})
    const reached: string[] = []
    let buf = ''
    child.stderr.on('data', (d: Buffer) => {
      buf += d.toString()
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const m = /^lab up: step (.+)$/.exec(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        if (!m) continue
        reached.push(m[1]!)
        if (m[1] === step) setTimeout(() => child.kill('SIGKILL'), ms)
      }
    })
    child.on('exit', (status, signal) => resolve({signal, status, reached}))
  })
}

describe.skipIf(skipReason !== '')(`lab down after lab up was killed with SIGKILL, prefix ${prefix} (${skipReason || 'root, tools present'})`, () => {
  let before: Record<string, string>
  /** Per kill: what lab down found to remove (namespaces, processes), to show the kills hit the build mid-way. */
  const found: Array<{step: string; ms: number; ended: string; namespaces: number; killed: number; stateDir: boolean}> = []

  beforeAll(async () => {
    await sweepStaleLabs('kl')
    before = await hostStateSnapshot(prefix)
  })

  afterAll(async () => {
    await labDown(prefix).catch(() => undefined)
  })

  // At every step, right as it starts, and once more inside the long ones (compile, listeners).
  const points: Array<[string, number]> = [...STEPS.map((s): [string, number] => [s, 0]), ['compile', 300], ['listeners', 150]]
  it.each(points)('killed at step %s (+%i ms): lab down leaves nothing of it', async (step, ms) => {
    const end = await killedLabUp(step, ms)
    expect(end.reached, 'lab up --verbose announced the step').toContain(step)
    const down = await labDown(prefix)
    found.push({ms, step, ended: end.signal ?? `exit ${end.status}`, namespaces: down.namespaces.length, killed: down.killed.length, stateDir: down.stateDirRemoved})
    expect(existingLabNamespaces(prefix), `killed at ${step} +${ms} ms (${end.signal ?? `exit ${end.status}`})`).toEqual([])
    expect(mountsAt(topo.bpffs)).toBe(0)
    expect(existsSync(topo.stateDir)).toBe(false)
    expect(existsSync(labLockPath(prefix))).toBe(false)
    // Orphans of the killed run (clang, nsenter, listeners) are found by the owner mark, wherever they run.
    await new Promise((r) => setTimeout(r, 50))
    expect(processesOwnedByLab(prefix), JSON.stringify(down.killed)).toEqual([])
  })

  it('the kills hit lab up mid-build: lab down had leftovers to remove after most of them', () => {
    console.log(found.map((f) => `${f.step} +${f.ms} ms: ${f.ended}, lab down removed ${f.namespaces} namespaces, ${f.killed} processes${f.stateDir ? ', the state dir' : ''}`).join('\n'))
    expect(found.filter((f) => f.ended === 'SIGKILL' && (f.namespaces > 0 || f.stateDir)).length).toBeGreaterThanOrEqual(10)
  })

  it('the host is exactly as before', async () => {
    const after = await hostStateSnapshot(prefix)
    for (const k of Object.keys(before)) expect(after[k], k).toBe(before[k])
  })
})
