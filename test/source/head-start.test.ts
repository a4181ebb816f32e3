// bin/run.js starts a live marks/trace's iptables dumps before oclif loads (head-start.ts); the command's
// LiveSource must take each over (never run it twice), with the same answer as a run of its own, and a run
// nobody claims must not outlive the CLI.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cancelHeadStart, claimHeadStart, startHeadStart} from '../../src/source/head-start.js'
import {headStartPlan} from '../../src/state/head-start-plan.js'
import {LiveSource} from '../../src/source/live.js'
import {presentBpfHelper} from '../../src/source/helper-path.js'
import {spawnSpec} from '../../src/source/spawn-spec.js'
import {straceExecs} from '../../bench/scale-node.mjs'
import {ROOT} from '../helpers/fixtures.js'
import {ip} from '../helpers/pod-netns.js'

const NS = `ni-t${process.pid}-hs`
/** In the order they start: IPv4's first (head-start-plan.ts). */
const DUMPS = ['iptables-save', 'iptables-legacy-save', 'ip6tables-save', 'ip6tables-legacy-save']
/** The dumps ask for a deep output buffer (iptables-save-run.ts): through the helper's exec when it is built. */
const helper = presentBpfHelper()

describe('headStartPlan: only a live marks or trace, only the dumps it will ask for', () => {
  it('the host: the four dumps, run as LiveSource runs them', () => {
    const via = (d: string) => (helper === undefined ? {file: d, args: []} : {file: helper, args: ['exec', '--sndbuf', String(64 * 1024 * 1024), '--', d]})
    for (const argv of [['marks'], ['marks', '--json'], ['trace', '10.0.0.1', '10.0.0.2:80', '--reply']]) expect(headStartPlan(argv)).toEqual(DUMPS.map(via))
  })
  it('nothing for another command, a snapshot, help, or a netns LiveSource would refuse', () => {
    for (const argv of [[], ['hooks'], ['snapshot', '-o', 'x.json'], ['marks', '--snapshot', 'n.json'], ['trace', 'a', 'b', '--snapshot=n.json'], ['marks', '--help'], ['trace', '-h'], ['marks', '--netns', 'no-such-netns-here'], ['marks', '--netns', '../x'], ['marks', '--netns']])
      expect(headStartPlan(argv), argv.join(' ')).toEqual([])
  })
})

describe('head start on a real netns', () => {
  beforeAll(() => {
    ip('netns', 'add', NS)
    const r = spawnSync('nsenter', [`--net=/run/netns/${NS}`, '--', 'iptables-restore'], {input: '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x40/0x40\nCOMMIT\n', encoding: 'utf8'})
    if (r.status !== 0) throw new Error(r.stderr)
  })
  afterAll(() => {
    cancelHeadStart()
    spawnSync('ip', ['netns', 'del', NS])
  })

  it('per --netns, nsenter into it; the command LiveSource asks for is the one started, taken once, with the same answer', async () => {
    const spec = spawnSpec(`/run/netns/${NS}`, 'iptables-save', [], helper)
    expect(spec.args.slice(0, 2)).toEqual([`--net=/run/netns/${NS}`, '--'])
    expect(headStartPlan(['trace', 'a', 'b', '--netns', NS, `--netns=${NS}`])[0]).toEqual(spec)
    expect(startHeadStart(headStartPlan(['marks', '--netns', NS]))).toBe(4)
    const src = new LiveSource({netns: NS})
    const chunks: string[] = []
    const ahead = await src.stream({argv: ['iptables-save'], deepOutput: true}, (c) => chunks.push(c))
    // Taken over: no longer there to claim; a second ask runs the tool anew, with the same dump.
    expect(claimHeadStart(spec)).toBeUndefined()
    const fresh = await src.run({argv: ['iptables-save'], deepOutput: true})
    const body = (t: string) => t.split('\n').filter((l) => !l.startsWith('#')).join('\n')
    expect(ahead.failure).toBeUndefined()
    expect(chunks.join('')).toBe(ahead.stdout)
    expect(body(ahead.stdout)).toBe(body(fresh.stdout))
    expect(ahead.stdout).toContain('-A PREROUTING -j MARK --set-xmark 0x40/0x40')
    expect(ahead.argv).toEqual(['iptables-save'])
    cancelHeadStart()
  })

  it('the CLI runs each dump once (strace), and exits at once when nothing claims them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-hs-'))
    try {
      const r = spawnSync('strace', ['-ff', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', join(dir, 't'), process.execPath, `${ROOT}bin/run.js`, 'marks', '--json', '--netns', NS], {encoding: 'utf8', maxBuffer: 1 << 26})
      expect(r.status).toBe(0)
      const execs = straceExecs(dir)
      for (const d of DUMPS) expect(execs.filter((e) => e === d), d).toHaveLength(1)
      expect(JSON.parse(r.stdout).schema).toMatch(/^nodeinspect\.marks\//)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    // A usage error after the dumps started: one line, non-zero, and the started dumps do not hold the CLI.
    const bad = spawnSync(process.execPath, [`${ROOT}bin/run.js`, 'marks', '--netns', NS, '--no-such-flag'], {encoding: 'utf8', timeout: 20_000})
    expect(bad.status).not.toBe(0)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
  })
})
