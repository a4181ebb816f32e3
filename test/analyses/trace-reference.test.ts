import {describe, expect, it} from 'vitest'
import {parseFlow} from '../../src/analyses/path/flow.js'
import {traceFlow} from '../../src/analyses/path/trace.js'
import type {KernelOracle} from '../../src/model/oracle.js'
import {liveSource} from '../../src/state/sources.js'
import {snapshotSource, traceNodes} from '../helpers/nodes.js'
import {ROOT} from '../helpers/fixtures.js'
import {helperFamily} from '../../src/bpf/helpers.js'
import type {ProgramSummary} from '../../src/model/program-summary.js'

async function nodes(...ns: Array<1 | 2>) {
  return traceNodes(await Promise.all(ns.map((n) => snapshotSource(`${ROOT}testdata/reference/node${n}.json`))))
}

describe('trace on the two reference nodes of docs/scenario.md', () => {
  it('reproduces the eight steps of the walk, in order, with the tail-call delivery on node 2', async () => {
    const {nodes: both, oracle} = await nodes(1, 2)
    const r = await traceFlow(both, parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'}), oracle)
    const key = (s: (typeof r.steps)[number]) => `${s.node} ${s.kind} ${s.where.device ?? ''} ${s.where.hook ?? ''} ${s.program?.role ?? ''}`.replace(/\s+/g, ' ').trim()
    const keys = r.steps.map(key)
    // The eight steps of docs/scenario.md#the-walk, as a subsequence of the (finer) path
    const scenario = [
      'ubuntu-dev2 pod-route eth0', // 1. pod 1 sends via 10.42.1.247 on its eth0
      'ubuntu-dev2 bpf lxc48c4aa0637ce tc ingress from-container', // 2. ipcache → tunnel 192.168.1.13, encapsulate, redirect
      'ubuntu-dev2 bpf cilium_vxlan tc egress to-overlay', // 3.
      'ubuntu-dev2 bpf eth0 tc egress to-netdev', // 4. leaves for 192.168.1.13
      'ubuntu-dev3 bpf eth0 tc ingress from-netdev', // 5.
      'ubuntu-dev3 bpf cilium_vxlan tc ingress from-overlay', // 6. cilium_lxc → endpoint ifindex 29, tail call
      'ubuntu-dev3 tail-call cilium_vxlan tail call (not attached to a hook) to-container', // 7. policy, redirect to lxc65015af813d1
      'ubuntu-dev3 deliver lxc65015af813d1', // 8. reaches pod 2's eth0
    ]
    let at = 0
    for (const s of scenario) {
      const i = keys.indexOf(s, at)
      expect(i, `step "${s}" after position ${at} in:\n${keys.join('\n')}`).toBeGreaterThanOrEqual(at)
      at = i + 1
    }
    const step = (k: string) => r.steps[keys.indexOf(k)]!
    expect(step(scenario[0]!)).toMatchObject({what: 'pod 10.42.1.80 (netns cni-407cd7d8-7c02-cfa7-bf93-22946f923ffd): 10.42.0.51 via 10.42.1.247 dev eth0 src 10.42.1.80', evidence: 'kernel'})
    expect(step(scenario[1]!)).toMatchObject({verdict: 'encapsulate to 192.168.1.13, redirect to cilium_vxlan', evidence: 'program', program: {id: 2901, name: 'handle_xgress'}, outer: {src: '192.168.1.12', dst: '192.168.1.13', proto: 'udp', dport: 8472}})
    expect(step(scenario[1]!).details).toContain('cilium_ipcache: 10.42.0.51/32 identity=15773 encryptkey=0 tunnelendpoint=192.168.1.13')
    expect(step(scenario[5]!).details).toContain('cilium_lxc: 10.42.0.51:0 id=2826 ifindex=29 mac=96:86:44:a6:37:ec nodemac=d2:ad:65:4d:d0:7b')
    expect(step(scenario[6]!)).toMatchObject({verdict: 'ingress policy, then redirect to lxc65015af813d1'})
    // between them: the tunnel, the underlay route (assumed: routes were not recorded) and the decapsulation
    expect(r.steps.filter((s) => s.kind === 'encap' || s.kind === 'decap' || s.kind === 'wire').map((s) => s.kind)).toEqual(['encap', 'wire', 'decap'])
    expect(r.steps.find((s) => s.kind === 'routing' && s.node === 'ubuntu-dev2')!.evidence).toBe('assumed')
    expect(r.outcome).toEqual({kind: 'delivered', step: r.steps.length, text: 'reaches 10.42.0.51:80 in the pod on ubuntu-dev3'})
    // what could not be seen is listed, never skipped silently
    expect(r.unseen).toEqual(expect.arrayContaining(['ubuntu-dev3: the to-container program of endpoint 2826 (cilium_call_policy not read)', 'ubuntu-dev2: netfilter rules were not recorded: no netfilter step could be evaluated']))
    // the mark is carried through every step
    expect(r.steps.every((s) => s.mark === 0)).toBe(true)
  })

  it('with only node 1, the flow leaves on eth0 for 192.168.1.13', async () => {
    const {nodes: one, oracle} = await nodes(1)
    const r = await traceFlow(one, parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'}), oracle)
    expect(r.outcome).toMatchObject({kind: 'left-node', text: 'leaves ubuntu-dev2 on eth0 towards 192.168.1.13'})
  })
})

describe('a program no datapath plugin models', () => {
  /** Node 1 with its from-container program (id 2901) renamed: `name` for the program, its code as given. */
  async function renamed(name: string, code?: ProgramSummary) {
    const {nodes: [n], oracle: o} = await nodes(1)
    oracle = o
    n!.attachments = n!.attachments.map((a) => (a.progId === 2901 ? {...a, attachName: name, ...(a.tc ? {tc: {...a.tc, bpfName: name}} : {})} : a))
    n!.hooks.programs = n!.hooks.programs.map((p) => (p.id === 2901 ? {...p, name} : p))
    if (code) n!.code.set(2901, code)
    return n!
  }
  let oracle: KernelOracle
  const flow = parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'})
  const summary = (helpers: string[]): ProgramSummary => ({markOffset: 164, loads: [], writes: [], matches: [], helperCalls: helpers.map((h, i) => ({pc: i, disasm: `(85) call ${h}#1`, evidence: 'program', helper: h, symbol: h, family: helperFamily(h), args: []})), helpers, families: [...new Set(helpers.map(helperFamily))], subprogramCalls: [], mapIds: [], uncertain: [], notes: []})

  it('is an assumed pass that names it, says nothing models it and what its code allows, and the walk goes on', async () => {
    const r = await traceFlow([await renamed('foreign_ingress', summary(['bpf_redirect']))], flow, oracle)
    const s = r.steps.find((x) => x.program?.id === 2901)!
    expect(s).toMatchObject({kind: 'bpf', what: 'foreign_ingress (id 2901)', verdict: 'pass (assumed)', verdictKind: 'pass', evidence: 'assumed'})
    expect(s.details).toEqual(['no datapath plugin models this program (plugins: cilium)', 'its instructions call bpf_redirect: it may pass, drop or redirect the packet (target not known)', 'assumed: it lets the packet go on'])
    expect(r.unseen).toContain('ubuntu-dev2 lxc48c4aa0637ce tc ingress: foreign_ingress (id 2901): not modelled; calls bpf_redirect: may redirect; target not known')
    // as if it passed: the stack routes the packet on
    expect(r.steps[r.steps.indexOf(s) + 1]!.kind).toBe('routing')
  })

  it('a program that calls no redirect helper can only pass or drop: still assumed, not "program" evidence', async () => {
    const r = await traceFlow([await renamed('foreign_ingress', summary(['bpf_map_lookup_elem']))], flow, oracle)
    const s = r.steps.find((x) => x.program?.id === 2901)!
    expect(s).toMatchObject({verdict: 'pass (assumed)', evidence: 'assumed'})
    expect(s.details).toContain('its instructions call no redirect helper: it can only pass or drop the packet')
  })

  it('a mark write the analysis could not follow leaves its bits unknown from there on, never "unchanged"', async () => {
    const w = {pc: 7, disasm: '(63) *(u32 *)(r1 +164) = r2', evidence: 'program' as const, op: 'unknown' as const, value: 0x100, mask: 0xffff, unknownBits: 0xfeff, expr: 'mark = <computed>: bits 0xfeff not known, 0x100 set, 0xffff0000 kept'}
    const r = await traceFlow([await renamed('foreign_ingress', {...summary([]), writes: [w]})], parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80', mark: '0x12340001'}), oracle)
    const i = r.steps.findIndex((x) => x.program?.id === 2901)
    // The pod sent it with --mark; its veth into the node's netns cleared the mark (__dev_forward_skb2, kn-13).
    expect(r.steps[0]).toMatchObject({kind: 'pod-route', mark: 0x12340001})
    expect(r.steps[0]!.details).toContain('skb->mark 0x12340001 cleared: the packet changes network namespace (__dev_forward_skb2 → skb_scrub_packet(skb, xnet=true))')
    expect(r.steps[i]).toMatchObject({mark: 0x100, markUnknown: 0xfeff})
    expect(r.steps[i]!.details).toContain(`writes skb->mark with a value the analysis could not follow (${w.expr}, insn 7): bits 0xfeff unknown after it (shown as 0)`)
    expect(r.steps.slice(i).every((x) => x.markUnknown === 0xfeff)).toBe(true)
    expect(r.steps.slice(0, i).every((x) => x.markUnknown === undefined)).toBe(true)
  })

  it("Calico's programs are recognised but not modelled: no Cilium semantics for them", async () => {
    const r = await traceFlow([await renamed('calico_tc_main')], flow, oracle)
    const s = r.steps.find((x) => x.program?.id === 2901)!
    expect(s).toMatchObject({verdict: 'pass (assumed)', evidence: 'assumed', program: {software: 'Calico (eBPF dataplane)', role: 'from-workload'}})
    expect(s.details).toEqual([
      'recognised as Calico (eBPF dataplane) from-workload by program-name "calico_tc_main": workload egress (packets leaving the pod): policy, NAT, then forward',
      "no datapath plugin models Calico (eBPF dataplane)'s from-workload program (plugins: cilium)",
      'its instructions were not read: it may pass, drop or redirect the packet',
      'assumed: it lets the packet go on',
    ])
  })
})

describe('trace on the live host (read-only)', () => {
  it('a packet to one of its own addresses is looped back and delivered locally', async () => {
    const {nodes: host, oracle} = await traceNodes([liveSource()])
    const r = await traceFlow(host, parseFlow({src: '127.0.0.1', dst: '127.0.0.1:80'}), oracle)
    expect(r.steps[0]).toMatchObject({kind: 'routing', verdict: 'local', evidence: 'kernel'})
    expect(r.outcome.kind).toBe('local')
  })
})
