// A hung tool must cost one timeout and leave nothing running: wrapper scripts whose child holds stdout,
// tools that ignore SIGTERM, descendants that leave the group, a second phase that runs the same tool,
// nodeinspect itself being interrupted. The fake tools only sleep; everything else runs in a throwaway netns.
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {buildNodeState} from '../../src/state/build.js'
import {liveSource} from '../../src/state/sources.js'
import {KILL_GRACE_MS, runCommand} from '../../src/source/run-command.js'
import {cli} from '../helpers/cli.js'
import {alive, groupMembers} from '../helpers/proc-groups.js'
import {ROOT} from '../helpers/fixtures.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

const dirs: string[] = []

/** A directory of fake tools. Each logs `group <its pid>` and `child <pid>` for what it starts, to `log`. */
function fakeTools(bodies: Record<string, string>): {dir: string; log: string} {
  const dir = mkdtempSync(`${tmpdir()}/ni-hung-`)
  dirs.push(dir)
  const log = `${dir}/log`
  writeFileSync(log, '')
  for (const [name, body] of Object.entries(bodies)) {
    writeFileSync(`${dir}/${name}`, `#!/bin/sh\necho "group $$" >> ${log}\n${body.replaceAll('LOG', log)}`)
    chmodSync(`${dir}/${name}`, 0o755)
  }
  return {dir, log}
}

/** As distributions ship iptables and others: a wrapper whose child inherits stdout and hangs. */
const HUNG_WRAPPER = 'sleep 1000 &\necho "child $!" >> LOG\nwait\n'
/** The same, deaf to SIGTERM (ignored dispositions are inherited by the child). */
const DEAF_WRAPPER = `trap '' TERM\n${HUNG_WRAPPER}`
/** A descendant that leaves the process group (setsid) and keeps stdout open. */
const ESCAPING_WRAPPER = `setsid sh -c 'echo "escaped $$" >> LOG; exec sleep 1000' &\n${HUNG_WRAPPER}`

function logged(log: string, kind: 'group' | 'child' | 'escaped'): number[] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${kind} `))
    .map((l) => Number(l.split(' ')[1]))
}

/** What is left of the runs logged in `log`: members of their groups, and their children wherever they are. */
function leftovers(log: string): number[] {
  return [...logged(log, 'group').flatMap(groupMembers), ...logged(log, 'child').filter(alive)]
}

async function eventually(f: () => number[], ms = 2000): Promise<number[]> {
  const until = Date.now() + ms
  let left = f()
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50))
    left = f()
  }
  return left
}

function withPath<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH
  process.env.PATH = `${dir}:${saved}`
  return f().finally(() => {
    process.env.PATH = saved
  })
}

afterAll(() => {
  // Whatever a failing run left behind: only the logged sleeps, one by one (never a group, never by name).
  for (const dir of dirs) {
    const log = `${dir}/log`
    if (!existsSync(log)) continue
    for (const pid of [...logged(log, 'child'), ...logged(log, 'escaped')]) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep')) process.kill(pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
  }
})

describe('runCommand: a timed-out tool is ended with its whole process group', () => {
  const T = 300
  // Slack for a loaded 2-core machine; the point is that the run ends, not its exact timing.
  const SLACK = 2500

  it('a wrapper whose child holds stdout: timeout after T, nothing of the group left', async () => {
    const {dir, log} = fakeTools({'hung-tool': HUNG_WRAPPER})
    const t0 = performance.now()
    const out = await runCommand({file: `${dir}/hung-tool`, args: ['-j'], logicalArgv: ['hung-tool', '-j'], timeoutMs: T})
    const ms = performance.now() - t0
    expect(out.failure).toBe('timeout')
    expect(out.message).toBe(`hung-tool -j: timed out after ${T} milliseconds`)
    expect(ms).toBeGreaterThanOrEqual(T - 5)
    expect(ms).toBeLessThan(T + SLACK)
    expect(logged(log, 'child')).toHaveLength(1)
    expect(await eventually(() => leftovers(log))).toEqual([])
  })

  it('a tool deaf to SIGTERM gets SIGKILL after the grace', async () => {
    const {dir, log} = fakeTools({'deaf-tool': DEAF_WRAPPER})
    const t0 = performance.now()
    const out = await runCommand({file: `${dir}/deaf-tool`, args: [], logicalArgv: ['deaf-tool'], timeoutMs: T})
    const ms = performance.now() - t0
    expect(out.failure).toBe('timeout')
    expect(ms).toBeGreaterThanOrEqual(T + KILL_GRACE_MS - 5)
    expect(ms).toBeLessThan(T + KILL_GRACE_MS + SLACK)
    expect(await eventually(() => leftovers(log))).toEqual([])
  })

  it('a descendant that left the group does not keep the run waiting on the pipe', async () => {
    const {dir, log} = fakeTools({'escaping-tool': ESCAPING_WRAPPER})
    const t0 = performance.now()
    const out = await runCommand({file: `${dir}/escaping-tool`, args: [], logicalArgv: ['escaping-tool'], timeoutMs: T})
    const ms = performance.now() - t0
    expect(out.failure).toBe('timeout')
    expect(ms).toBeLessThan(T + KILL_GRACE_MS + SLACK)
    expect(await eventually(() => leftovers(log))).toEqual([])
    // It is beyond a process-group kill (its own session); it did hold stdout, which is what is tested.
    expect(logged(log, 'escaped').filter(alive)).toHaveLength(1)
  })

  it('a tool killed by a signal nodeinspect did not send says which', async () => {
    const out = await runCommand({file: 'sh', args: ['-c', 'kill -SEGV $$'], logicalArgv: ['sh', '-c', 'kill -SEGV $$']})
    expect(out.failure).toBe('exit')
    expect(out.exitCode).toBeNull()
    expect(out.message).toBe('sh -c "kill -SEGV $$": killed by SIGSEGV')
  })
})

describe('LiveSource: one hung tool costs one timeout', () => {
  it('a tool that timed out is skipped, not waited for again, in the same source', async () => {
    const {dir, log} = fakeTools({'hung-tool': HUNG_WRAPPER})
    await withPath(dir, async () => {
      // --timeout 300 wins over the 120 s the probe asks for.
      const src = liveSource({timeoutMs: 300})
      const first = await src.run({argv: ['hung-tool', 'show'], timeoutMs: 120_000})
      expect(first.message).toBe('hung-tool show: timed out after 300 milliseconds')
      const t0 = performance.now()
      const second = await src.run({argv: ['hung-tool', 'dump'], input: 'x\n'})
      expect(performance.now() - t0).toBeLessThan(100)
      expect(second).toMatchObject({failure: 'timeout', input: 'x\n', message: 'hung-tool dump: skipped: hung-tool timed out earlier in this run (after 300 milliseconds, printing nothing)'})
      // Another tool still runs.
      expect((await src.run({argv: ['true']})).failure).toBeUndefined()
    })
    expect(logged(log, 'group')).toHaveLength(1)
  })

  it('a tool that printed before its timeout was slow, not hung: it still runs again', async () => {
    const {dir, log} = fakeTools({'slow-tool': `echo '[{"id": 1'\n${HUNG_WRAPPER}`})
    await withPath(dir, async () => {
      const src = liveSource({timeoutMs: 300})
      const first = await src.run({argv: ['slow-tool', 'name', 'x']})
      expect(first).toMatchObject({failure: 'timeout', stdout: '[{"id": 1\n'})
      const second = await src.run({argv: ['slow-tool', 'id', '1']})
      expect(second.message).toBe('slow-tool id 1: timed out after 300 milliseconds')
    })
    expect(logged(log, 'group')).toHaveLength(2)
  })
})

const skip = liveSkipReason([])
describe.skipIf(skip !== undefined)('live, in a throwaway netns', () => {
  let ns: TestNetns | undefined
  afterEach(async () => {
    await ns?.close()
    ns = undefined
  })

  it('nsenter missing: every run says so (not that its tool is missing), classified once', async () => {
    ns = await createTestNetns('hrns')
    const empty = mkdtempSync(`${tmpdir()}/ni-empty-`)
    dirs.push(empty)
    const saved = process.env.PATH
    process.env.PATH = empty
    try {
      const src = liveSource({netns: ns.name})
      const a = await src.run({argv: ['bpftool', '-j', 'net', 'show']})
      const b = await src.run({argv: ['ip', '-j', 'link', 'show']})
      expect(a).toMatchObject({failure: 'spawn', message: `bpftool -j net show: cannot enter netns ${ns.name}: nsenter is not installed (util-linux)`})
      expect(b).toMatchObject({failure: 'spawn', message: `ip -j link show: cannot enter netns ${ns.name}: nsenter is not installed (util-linux)`, durationMs: 0})
    } finally {
      process.env.PATH = saved
    }
  })

  it("trace's collection with a hung bpftool: one timeout, not one per phase", async () => {
    ns = await createTestNetns('hrtrace')
    const T = 4000
    const {dir, log} = fakeTools({bpftool: HUNG_WRAPPER})
    const t0 = performance.now()
    const facts = await withPath(dir, () => buildNodeState(liveSource({netns: ns!.name, timeoutMs: T}), {trace: true}))
    const ms = performance.now() - t0
    const messages = facts.warnings.map((w) => w.message)
    expect(messages).toContain(`bpftool -j prog show: timed out after ${T} milliseconds`)
    // Cilium's maps are read after the hooks (a second phase): that bpftool run is not waited for again.
    expect(messages).toContain('bpftool -j map show: skipped: bpftool timed out earlier in this run (after 4000 milliseconds, printing nothing)')
    expect(ms).toBeLessThan(1.5 * T)
    expect(await eventually(() => leftovers(log))).toEqual([])
  })

  it('nodeinspect hooks --timeout 500 with a hung bpftool wrapper ends, exit 0, naming the tool', async () => {
    ns = await createTestNetns('hrhooks')
    const {dir, log} = fakeTools({bpftool: HUNG_WRAPPER})
    const t0 = performance.now()
    const r = cli(['hooks', '--netns', ns.name, '--timeout', '500'], {env: {PATH: `${dir}:${process.env.PATH}`}})
    const ms = performance.now() - t0
    expect(r.status).toBe(0)
    expect(`${r.stdout}${r.stderr}`).toContain('warning: bpftool -j prog show: timed out after 500 milliseconds')
    expect(ms).toBeLessThan(15_000)
    expect(await eventually(() => leftovers(log))).toEqual([])
  })

  it('nodeinspect marks --timeout 500: the user\'s timeout holds for iptables-save too (its probe asks for 120 s)', async () => {
    ns = await createTestNetns('hrmarks')
    const {dir, log} = fakeTools({'iptables-save': HUNG_WRAPPER})
    const t0 = performance.now()
    const r = cli(['marks', '--netns', ns.name, '--timeout', '500'], {env: {PATH: `${dir}:${process.env.PATH}`}})
    const ms = performance.now() - t0
    expect(r.status).toBe(0)
    expect(`${r.stdout}${r.stderr}`).toContain('iptables-save: timed out after 500 milliseconds')
    expect(ms).toBeLessThan(15_000)
    expect(await eventually(() => leftovers(log))).toEqual([])
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`nodeinspect ended by ${signal} leaves no tool running`, async () => {
      ns = await createTestNetns(`hrsig${signal.toLowerCase()}`)
      const {dir, log} = fakeTools({bpftool: HUNG_WRAPPER})
      const child = spawn(process.execPath, [`${ROOT}bin/run.js`, 'hooks', '--netns', ns.name], {cwd: ROOT, env: {...process.env, PATH: `${dir}:${process.env.PATH}`}, stdio: 'ignore'})
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
      // Wait until the two bpftool runs of hooks (prog show, link show) have started their children.
      const until = Date.now() + 15_000
      while (logged(log, 'child').length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
      expect(logged(log, 'child')).toHaveLength(2)
      child.kill(signal)
      await exited
      expect(await eventually(() => leftovers(log))).toEqual([])
    })
  }
})
