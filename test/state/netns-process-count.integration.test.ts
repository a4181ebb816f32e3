// The processes `trace` starts do not grow with the number of named network namespaces on the machine: a small
// node netns with two pods behind veths, traced with 0 and then 30 more (empty, unrelated) named namespaces
// around, every exec counted by strace -f. ip -all netns exec, which forked once per /run/netns entry (136
// processes with 15 namespaces, 224 with 37), must not come back.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {TraceReport} from '../../src/analyses/path/trace.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {addNodeWithPods, ip} from '../helpers/pod-netns.js'
import {ROOT} from '../helpers/fixtures.js'
import {liveSkipReason} from '../probes/netns-helpers.js'

const skip = liveSkipReason(['strace']) ?? (existsSync(bpfHelperPath()) ? undefined : `no helper binary at ${bpfHelperPath()} (run: make -C native)`)
if (skip) console.warn(`test/state/netns-process-count.integration.test.ts: skipping: ${skip}`)

const p = `ni-t${process.pid}`
const NODE = `${p}-cnode`
const PODS = [`${p}-cpod1`, `${p}-cpod2`]
const EXTRA = Array.from({length: 30}, (_, i) => `${p}-cx${i + 1}`)
const podIp = (i: number) => `10.79.0.1${i + 1}`


/** `trace` under strace -f: the argv of every successful execve, its report. */
function tracedExecs(dir: string, tag: string): {execs: string[][]; report: TraceReport} {
  // -ff: one file per process, so no execve line is split by another process's ("<unfinished …>").
  const log = join(dir, `${tag}.strace`)
  const argv = ['-f', '-ff', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-s', '200', '-o', log, process.execPath, `${ROOT}bin/run.js`, 'trace', podIp(0), `${podIp(1)}:80`, '--netns', NODE, '--json']
  const r = spawnSync('strace', argv, {cwd: ROOT, encoding: 'utf8', timeout: 240_000, maxBuffer: 1 << 26})
  expect(r.status, r.stderr).toBe(0)
  const execs: string[][] = []
  const lines = readdirSync(dir)
    .filter((f) => f.startsWith(`${tag}.strace.`))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
  for (const line of lines) {
    // 1234  execve("/usr/sbin/ip", ["ip", "-j", …], 0x… /* 30 vars */) = 0   (PATH misses end in ENOENT)
    if (!/\) = 0$/.test(line)) continue
    const m = /execve\("[^"]*", \[(.*?)\](?:, 0x| \/\*)/.exec(line)
    if (m) execs.push(JSON.parse(`[${m[1]}]`) as string[])
  }
  return {execs, report: JSON.parse(r.stdout) as TraceReport}
}

describe.skipIf(!!skip)('trace: processes constant in the number of named namespaces (real kernel, strace -f)', () => {
  let tmp = ''
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ni-netns-count-'))
    addNodeWithPods(NODE, PODS, podIp)
  })
  afterAll(() => {
    for (const n of [NODE, ...PODS, ...EXTRA]) spawnSync('ip', ['netns', 'del', n])
    if (tmp) rmSync(tmp, {recursive: true, force: true})
  })

  it('0 vs 30 extra named namespaces: the same processes, one helper run for the pods, no ip -all netns exec', () => {
    tracedExecs(tmp, 'warm') // caches, so both counted runs see the same machine
    const before = tracedExecs(tmp, 'before')
    let after: ReturnType<typeof tracedExecs>
    try {
      for (const n of EXTRA) ip('netns', 'add', n)
      after = tracedExecs(tmp, 'after')
    } finally {
      for (const n of EXTRA) spawnSync('ip', ['netns', 'del', n])
    }
    const tools = (x: typeof before) => x.execs.filter((a) => !a[0]!.endsWith('node')).map((a) => a.join(' '))
    // bpftool's runs follow the host's BPF programs and maps (global: other tests load some); all else is equal.
    const notBpftool = (l: string[]) => l.filter((a) => !/\bbpftool\b/.test(a)).sort()
    console.log(`trace --netns ${NODE}: ${tools(before).length} execs with 0 extra named namespaces, ${tools(after).length} with ${EXTRA.length}`)
    expect(notBpftool(tools(after))).toEqual(notBpftool(tools(before)))
    expect(tools(after).length).toBeLessThanOrEqual(tools(before).length + 4)
    for (const x of [before, after]) {
      const all = tools(x)
      expect(all.filter((a) => /(^|\s)-all(\s|$)|netns exec/.test(a))).toEqual([])
      expect(all.some((a) => EXTRA.some((n) => a.includes(n)))).toBe(false)
      // The pods' namespaces: one helper process for both (nsenter execs it).
      expect(all.filter((a) => a.includes('netns-dump') && !a.startsWith('nsenter'))).toEqual([`${bpfHelperPath()} netns-dump ${PODS.join(' ')}`])
      expect(x.report.steps[0]?.where.inPod).toBe(PODS[0])
    }
    expect(after.report.outcome).toEqual(before.report.outcome)
  }, 600_000)
})
