// `nodeinspect diff` against the real lab (issue 11): a snapshot of node 1, three real changes made inside node 1's
// netns only — eth0's tc egress program replaced by another (from-netdev of the same object: another tag), a mangle
// rule that clobbers the whole mark, the route to node 2's pods deleted — a second snapshot, and the diff must name
// exactly those (plus the mark use and the collision finding the rule brings), nothing from ids, counters or times;
// the same live (--netns) against the first snapshot; and with --flow the first step where the path differs.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {DiffReport} from '../../src/analyses/diff/diff.js'
import {objectPath} from '../../src/lab/bpf-objects.js'
import {labDown} from '../../src/lab/teardown.js'
import {labTopology} from '../../src/lab/topology.js'
import {labUp} from '../../src/lab/up.js'
import {cli} from '../helpers/cli.js'
import {changeLines} from '../helpers/diff.js'
import {LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from './live.js'

const skipReason = liveLabSkipReason(['iptables'])
if (skipReason) console.warn(`test/lab/diff.integration.test.ts: skipping: ${skipReason}`)

const prefix = `nilab-t${process.pid}df`
const node1 = `${prefix}-node1`
const dir = mkdtempSync(`${tmpdir()}/ni-diff-lab-`)

/** A command inside node 1's netns, never in the root namespace (ip netns exec enters it first). */
function inNode1(argv: string[], env: Record<string, string> = {}): void {
  execFileSync('ip', ['netns', 'exec', node1, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], {stdio: 'pipe'})
}

function ok(args: string[]): string {
  const r = cli(args)
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`)
  return r.stdout
}

const diffJson = (args: string[]) => JSON.parse(ok(['diff', ...args, '--json'])) as DiffReport

describe.skipIf(!!skipReason)(`diff on the lab before and after real changes (${skipReason || 'root, BPF, netns'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  beforeAll(async () => {
    await sweepStaleLabs('df')
    await labUp({prefix})
    ok(['snapshot', '--netns', node1, '-o', `${dir}/before.json.gz`])
    const topo = labTopology(prefix)
    const n1 = topo.nodes.find((n) => n.netns === node1)!
    // (a) eth0's egress program replaced: the same pref and handle, another program (the object's from-netdev).
    inNode1(['tc', 'filter', 'replace', 'dev', 'eth0', 'egress', 'pref', '1', 'handle', '1', 'bpf', 'da', 'obj', objectPath(topo, n1.name, 'bpf_netdev_eth0.o'), 'sec', 'from-netdev'], {TC_BPF_MNT: n1.bpfMnt})
    // (b) a rule that clobbers every mark bit (kube-proxy's 0x4000 and 0x8000 among them).
    inNode1(['iptables', '-t', 'mangle', '-I', 'PREROUTING', '-j', 'MARK', '--set-mark', '0x1337'])
    // (c) the route to node 2's pods.
    inNode1(['ip', 'route', 'del', '10.42.0.0/24'])
    ok(['snapshot', '--netns', node1, '-o', `${dir}/after.json`])
  })
  afterAll(async () => {
    await labDown(prefix)
    rmSync(dir, {recursive: true, force: true})
  })

  const expected = (r: DiffReport) => [
    `hook replaced eth0 tc-egress: bpf_netdev_eth0.o:[to-netdev] (${r.hooks[0]?.before?.tag}) → bpf_netdev_eth0.o:[from-netdev] (${r.hooks[0]?.after?.tag})`,
    'mark use added: iptables iptables mangle PREROUTING #1: -j MARK packet set-xmark 0x1337/0xffffffff',
    'finding appeared: whole-mark-clobber',
    'rule added: iptables mangle/PREROUTING: -A PREROUTING -j MARK --set-xmark 0x1337/0xffffffff',
    'route removed: ipv4 main: 10.42.0.0/24 via 10.42.0.247 dev cilium_vxlan',
  ]

  it('snapshot before against snapshot after: exactly the three changes, JSON and text', () => {
    const r = diffJson([`${dir}/before.json.gz`, `${dir}/after.json`])
    expect(changeLines(r)).toEqual(expected(r))
    expect(r.hooks[0]!.before!.tag).not.toBe(r.hooks[0]!.after!.tag)
    expect(r.unreadOnOneSide).toEqual([])
    const text = ok(['diff', `${dir}/before.json.gz`, `${dir}/after.json`])
    expect(text).toContain('5 changes: hooks 1, mark uses 1, findings 1, rules 1, routes 1')
    expect(text).toMatch(/~ eth0 tc-egress: bpf_netdev_eth0\.o:\[to-netdev\] \(to_netdev, tag \w+, id \d+\) replaced by\s+bpf_netdev_eth0\.o:\[from-netdev\]/)
    expect(text).toContain('+ iptables mangle/PREROUTING: -A PREROUTING -j MARK --set-xmark 0x1337/0xffffffff')
    expect(text).toContain('- ipv4 table main: 10.42.0.0/24 via 10.42.0.247 dev cilium_vxlan')
  })

  it('the first snapshot against the node now (--netns): the same changes', () => {
    const r = diffJson([`${dir}/before.json.gz`, '--netns', node1])
    expect(r.after.source).toBe('live')
    expect(changeLines(r)).toEqual(expected(r))
  })

  it('a snapshot against the node now, nothing changed since: nothing', () => {
    expect(changeLines(diffJson([`${dir}/after.json`, '--netns', node1]))).toEqual([])
  })

  it('--flow: the path differs first at the clobbering rule, then dies for want of the route', () => {
    const r = diffJson([`${dir}/before.json.gz`, `${dir}/after.json`, '--flow', '10.42.1.80', '10.42.0.51:80'])
    expect(r.path?.firstDifference?.before).toMatchObject({where: expect.stringContaining('netfilter prerouting'), mark: 0})
    expect(r.path?.firstDifference?.after).toMatchObject({where: expect.stringContaining('netfilter prerouting'), mark: 0x1337})
    expect(r.path?.before.kind).toBe('left-node')
    expect(r.path?.after).toMatchObject({kind: 'dropped', text: expect.stringContaining('no route for 10.42.0.51')})
    const text = ok(['diff', `${dir}/before.json.gz`, `${dir}/after.json`, '--flow', '10.42.1.80', '10.42.0.51:80'])
    expect(text).toMatch(/first difference at step \d+:/)
    expect(text).toContain('after:  dropped')
  })
})
