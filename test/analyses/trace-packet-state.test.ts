// The kernel's rules for what a packet keeps across boundaries (docs/kernel-notes.md#kn-11-skb-scrub-packet):
// on the reference nodes of docs/scenario.md, changed where a rule needs something to act on.
import {describe, expect, it} from 'vitest'
import {parseFlow} from '../../src/analyses/path/flow.js'
import {traceFlow} from '../../src/analyses/path/trace.js'
import type {NodeState} from '../../src/model/node-state.js'
import type {MarkWrite, ProgramSummary} from '../../src/model/program-summary.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'
import {parseNftJson} from '../../src/probes/nft-ruleset.js'
import {ROOT} from '../helpers/fixtures.js'
import {snapshotSource, traceNodes} from '../helpers/nodes.js'

async function reference() {
  return traceNodes(await Promise.all([1, 2].map((n) => snapshotSource(`${ROOT}testdata/reference/node${n}.json`))))
}

const flow = parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'})

/** A program summary that only ORs `bits` into skb->mark. */
function orsMark(bits: number): ProgramSummary {
  const w: MarkWrite = {pc: 3, disasm: '(44) w2 |= 2048', evidence: 'program', op: 'or', value: bits, mask: bits, unknownBits: 0, expr: `mark |= 0x${bits.toString(16)}`}
  return {markOffset: 164, loads: [], writes: [w], matches: [], helperCalls: [], helpers: [], families: [], subprogramCalls: [], mapIds: [], uncertain: [], notes: []}
}

function iptables(node: NodeState, dump: string): void {
  const r = parseIptablesSave(dump, {family: 'ipv4', backend: 'nft'})
  expect(r.problems.filter((p) => !/header has no/.test(p.message))).toEqual([])
  node.xt = [r.facts]
}

/** Node 2 as a plain kernel datapath (no programs): the stack decapsulates and forwards. */
function withoutPrograms(node: NodeState): void {
  node.attachments = []
}

describe('skb->mark does not cross a wire (kn-14)', () => {
  it('a mark ORed on node 1 by the uplink program is on the packet until it leaves, and 0 on node 2', async () => {
    const {nodes, oracle} = await reference()
    nodes[0]!.code.set(2832, orsMark(0x800))
    const r = await traceFlow(nodes, flow, oracle)
    const i = r.steps.findIndex((s) => s.program?.id === 2832)
    const wire = r.steps.findIndex((s) => s.kind === 'wire')
    expect(r.steps[i]!.mark).toBe(0x800)
    expect(r.steps[wire]).toMatchObject({node: 'ubuntu-dev2', mark: 0})
    expect(r.steps[wire]!.details).toContain('skb->mark 0x800 stays on the sending node: a wire carries only the packet\'s bytes')
    expect(r.steps.filter((s) => s.node === 'ubuntu-dev3').every((s) => s.mark === 0)).toBe(true)
    expect(r.outcome.kind).toBe('delivered')
  })
})

describe('conntrack across encapsulation and decapsulation (kn-12)', () => {
  // Node 2: the overlay's UDP port untracked in raw, accepted in INPUT, and a DNAT for the pod in nat PREROUTING.
  const node2Rules = [
    '*raw',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A PREROUTING -p udp -m udp --dport 8472 -j NOTRACK',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    '-A PREROUTING -d 10.42.0.51/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j DNAT --to-destination 10.42.0.52:8080',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A INPUT -p udp -m udp --dport 8472 -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate NEW -j ACCEPT',
    'COMMIT',
    '',
  ].join('\n')

  it('the outer packet is UNTRACKED; the decapsulated inner packet is tracked afresh (NEW) and nat PREROUTING DNATs it', async () => {
    const {nodes, oracle} = await reference()
    iptables(nodes[1]!, node2Rules)
    withoutPrograms(nodes[1]!)
    const r = await traceFlow(nodes, flow, oracle)
    const on2 = r.steps.filter((s) => s.node === 'ubuntu-dev3')
    const hooks = on2.filter((s) => s.kind === 'netfilter').map((s) => `${s.where.hook} ${s.where.device} ${s.outer ? 'outer' : 'inner'} ${s.ct?.state}`)
    expect(hooks.slice(0, 3)).toEqual(['netfilter prerouting eth0 outer UNTRACKED', 'netfilter input eth0 outer UNTRACKED', 'netfilter prerouting cilium_vxlan inner NEW'])
    const outerPre = on2.find((s) => s.kind === 'netfilter')!
    expect(outerPre.tables?.map((t) => `${t.table}/${t.chain} ${t.priority}: ${t.verdict}`)).toEqual([
      'raw/PREROUTING -300: ACCEPT (policy)',
      'nat/PREROUTING -100: skipped: untracked packet (NOTRACK): the nat core only sees tracked connections',
    ])
    const input = on2.find((s) => s.where.hook === 'netfilter input')!
    expect(input).toMatchObject({what: 'filter/INPUT #1: ACCEPT', verdictKind: 'accept'})
    const decap = on2.find((s) => s.kind === 'decap')!
    expect(decap.ct).toBeUndefined()
    expect(decap.details).toContain('conntrack entry dropped (__iptunnel_pull_header → skb_scrub_packet → nf_reset_ct): the next conntrack hook tracks the packet afresh (NEW)')
    const innerPre = on2.find((s) => s.where.hook === 'netfilter prerouting' && !s.outer)!
    expect(innerPre).toMatchObject({verdict: 'ACCEPT (DNAT 10.42.0.51:80 → 10.42.0.52:8080)', tuple: {dst: '10.42.0.52', dport: 8080}, ct: {state: 'NEW', nat: {dnat: true}}})
  })

  it('the sender: the inner packet\'s conntrack entry is dropped at encapsulation, the outer one passes OUTPUT and POSTROUTING with its own', async () => {
    const {nodes, oracle} = await reference()
    iptables(nodes[0]!, ['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p udp -m udp --dport 8472 -j NOTRACK', 'COMMIT', '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', ''].join('\n'))
    const r = await traceFlow(nodes, flow, oracle)
    const on1 = r.steps.filter((s) => s.node === 'ubuntu-dev2' && s.kind === 'netfilter')
    expect(on1.map((s) => `${s.where.hook} ${s.outer ? 'outer' : 'inner'} ${s.ct?.state} ${s.what}`)).toEqual([
      'netfilter output outer UNTRACKED raw/OUTPUT #1: NOTRACK',
      'netfilter postrouting outer UNTRACKED no table has a base chain at postrouting: the packet passes',
    ])
    // The wire leaves the conntrack entry behind: node 2 starts without one.
    expect(r.steps.find((s) => s.kind === 'wire')!.ct).toBeUndefined()
  })
})

describe('every netfilter hook is a step, accepts included', () => {
  it('a hook no rule decides says so: no rule matched: policy ACCEPT', async () => {
    const {nodes, oracle} = await reference()
    iptables(nodes[0]!, ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp -j DROP', 'COMMIT', ''].join('\n'))
    const r = await traceFlow(nodes, flow, oracle)
    const out = r.steps.find((s) => s.node === 'ubuntu-dev2' && s.where.hook === 'netfilter output')!
    expect(out).toMatchObject({what: 'no rule matched: policy ACCEPT', verdict: 'ACCEPT', verdictKind: 'accept', evidence: 'rule', tables: [{table: 'filter', chain: 'OUTPUT', priority: 0, verdict: 'ACCEPT (policy)'}]})
  })
})

describe("a hook's tables run in the kernel's order, whichever tool made them", () => {
  it('iptables-legacy, iptables-nft and native nft chains at one hook, by priority (nat inside the nat core)', async () => {
    const {nodes, oracle} = await reference()
    const legacy = parseIptablesSave(['*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT', ''].join('\n'), {family: 'ipv4', backend: 'legacy'}).facts
    const viaNft = parseIptablesSave(['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT', ''].join('\n'), {family: 'ipv4', backend: 'nft'}).facts
    const chain = (name: string, type: string, prio: number) => ({chain: {family: 'inet', table: 'fw', name, handle: prio + 1000, type, hook: 'prerouting', prio, policy: 'accept'}})
    const json = JSON.stringify({nftables: [{metainfo: {version: '1.0.6', json_schema_version: 1}}, {table: {family: 'inet', name: 'fw', handle: 1}}, chain('early', 'filter', -310), chain('mid', 'filter', -120), chain('dnat-late', 'nat', -90), chain('late', 'filter', 5)]})
    const parsed = parseNftJson(json)
    expect(parsed.problems).toEqual([])
    const n2 = nodes[1]!
    n2.xt = [legacy, viaNft]
    n2.nft = parsed.facts.tables
    withoutPrograms(n2)
    const r = await traceFlow(nodes, flow, oracle)
    const pre = r.steps.find((s) => s.node === 'ubuntu-dev3' && s.where.hook === 'netfilter prerouting')!
    expect(pre.tables!.map((t) => `${t.engine}${t.backend ? `-${t.backend}` : ''} ${t.table}/${t.chain} ${t.priority}`)).toEqual([
      'nft inet fw/early -310',
      'iptables-nft raw/PREROUTING -300',
      'iptables-legacy mangle/PREROUTING -150',
      'nft inet fw/mid -120',
      // the nat core at -100 runs nat chains by their own priority: iptables' nat (-100), then nft's (-90)
      'iptables-nft nat/PREROUTING -100',
      'nft inet fw/dnat-late -90',
      'nft inet fw/late 5',
    ])
  })
})

describe('where a packet leaves to is named', () => {
  it('a veth into a netns that is no node read: the netns its peer is in (link_netnsid, ip netns list-id)', async () => {
    const {nodes, oracle} = await reference()
    const n1 = nodes[0]!
    n1.hooks.devices = n1.hooks.devices.map((d) => (d.name === 'eth0' ? {...d, kind: 'veth' as const, peer: {ifindex: 7, netnsId: 3, sameNetns: false}} : d))
    n1.hooks.netnsNames.set(3, 'outside-host')
    n1.code.set(2832, orsMark(0x800))
    const r = await traceFlow([n1], flow, oracle)
    expect(r.outcome).toMatchObject({kind: 'left-node', text: 'leaves ubuntu-dev2 on eth0 into netns outside-host towards 192.168.1.13'})
    const leave = r.steps[r.steps.length - 1]!
    expect(leave.details).toContain("eth0's peer (ifindex 7 there) is in netns outside-host (link_netnsid 3, ip netns list-id)")
    // into another netns by a veth: the mark is cleared there (__dev_forward_skb2)
    expect(leave).toMatchObject({kind: 'wire', mark: 0})
    expect(leave.details).toContain('skb->mark 0x800 cleared: the packet changes network namespace (__dev_forward_skb2 → skb_scrub_packet(skb, xnet=true))')
  })

  it('a peer netns with no name is named by its nsid', async () => {
    const {nodes, oracle} = await reference()
    const n1 = nodes[0]!
    n1.hooks.devices = n1.hooks.devices.map((d) => (d.name === 'eth0' ? {...d, kind: 'veth' as const, peer: {ifindex: 7, netnsId: 9, sameNetns: false}} : d))
    const r = await traceFlow([n1], flow, oracle)
    expect(r.outcome.text).toBe('leaves ubuntu-dev2 on eth0 into the netns of nsid 9 towards 192.168.1.13')
  })
})

describe('loopback keeps the skb (kn-14)', () => {
  it("a packet to the node's own address crosses OUTPUT, POSTROUTING, PREROUTING and INPUT with its mark; nat runs once per manip type", async () => {
    const {nodes, oracle} = await reference()
    const n2 = nodes[1]!
    iptables(n2, [
      '*mangle',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A OUTPUT -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x10/0xffffffff',
      'COMMIT',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.168.1.13:9090',
      '-A INPUT -p tcp -j SNAT --to-source 192.168.1.99',
      'COMMIT',
      '',
    ].join('\n'))
    const r = await traceFlow([n2], parseFlow({src: '192.168.1.13', dst: '192.168.1.13:80'}), oracle)
    expect(r.steps[0]!.details).toContain('looped back: skb->mark 0x0 and the conntrack entry are kept (loopback_xmit does not scrub the packet)')
    const hooks = r.steps.filter((s) => s.kind === 'netfilter')
    expect(hooks.map((s) => `${s.where.hook} ${s.where.device} mark ${s.mark}`)).toEqual(['netfilter output lo mark 16', 'netfilter postrouting lo mark 16', 'netfilter prerouting lo mark 16', 'netfilter input lo mark 16'])
    // OUTPUT and POSTROUTING set up both NAT manips (null bindings): the DNAT at PREROUTING and SNAT at INPUT never run.
    const natRow = (i: number) => hooks[i]!.tables!.find((t) => t.table === 'nat')!.verdict
    expect(natRow(2)).toBe("skipped: this connection's destination NAT was set up at an earlier hook (nf_nat_initialized): nat chains run once per connection")
    expect(natRow(3)).toBe("skipped: this connection's source NAT was set up at an earlier hook (nf_nat_initialized): nat chains run once per connection")
    expect(hooks[3]!.tuple).toMatchObject({src: '192.168.1.13', dst: '192.168.1.13', dport: 80})
    expect(r.outcome).toMatchObject({kind: 'local'})
  })
})

describe('decapsulation keeps the mark in one netns and clears it across (kn-12)', () => {
  const marksOuter = ['*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A PREROUTING -p udp -m udp --dport 8472 -j MARK --set-xmark 0x20/0xffffffff', 'COMMIT', ''].join('\n')
  async function innerPrerouting(underlayNetnsId?: number) {
    const {nodes, oracle} = await reference()
    const n2 = nodes[1]!
    iptables(n2, marksOuter)
    withoutPrograms(n2)
    if (underlayNetnsId !== undefined) n2.hooks.devices = n2.hooks.devices.map((d) => (d.name === 'cilium_vxlan' ? {...d, vxlan: {...d.vxlan, underlayNetnsId}} : d))
    const r = await traceFlow(nodes, flow, oracle)
    return {decap: r.steps.find((s) => s.kind === 'decap')!, pre: r.steps.find((s) => s.node === 'ubuntu-dev3' && s.where.hook === 'netfilter prerouting' && !s.outer)!}
  }

  it('tunnel and underlay in one netns: the mark the outer packet got is on the inner one', async () => {
    const {pre} = await innerPrerouting()
    expect(pre.mark).toBe(0x20)
  })

  it("the vxlan device's underlay in another netns (link_netnsid): the mark is cleared", async () => {
    const {decap, pre} = await innerPrerouting(4)
    expect(decap.details).toContain('skb->mark 0x20 cleared: the packet changes network namespace (__iptunnel_pull_header → skb_scrub_packet(skb, xnet=true))')
    expect(pre.mark).toBe(0)
  })
})
