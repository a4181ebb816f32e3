// Linux bridge forwarding (docs/kernel-notes.md#kn-15-bridge-forwarding) and br_netfilter (kn-16) on a synthetic
// node: a cni0 bridge with two veth pods, as the lab's bridge variant builds it.
import {describe, expect, it} from 'vitest'
import {bridgeForwarding} from '../../src/analyses/path/bridge-forwarding.js'
import {traceFlow} from '../../src/analyses/path/trace.js'
import {PathWalker, type NetfilterVerdict} from '../../src/analyses/path/walk.js'
import type {BridgeVlan, Device} from '../../src/model/hooks.js'
import type {Hook} from '../../src/model/netfilter.js'
import {hooksOnlyState, type NodeState} from '../../src/model/node-state.js'
import type {KernelOracle} from '../../src/model/oracle.js'
import type {FlowSpec, Tuple} from '../../src/model/path.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'

const MAC = {cni0: '4e:c5:28:cb:aa:3f', vethA: 'ce:62:92:9f:0a:93', vethB: 'ce:62:92:9f:0b:93', podA: '02:00:00:00:00:0a', podB: '02:00:00:00:00:0b'}

function dev(d: Partial<Device> & Pick<Device, 'ifindex' | 'name' | 'kind'>): Device {
  return {flags: ['UP'], altnames: [], addresses: [], ...d}
}

/** node1: cni0 10.244.1.1/24; pod-a (10.244.1.2) behind vethA, pod-b (10.244.1.3) behind vethB. */
function bridgeNode(): NodeState {
  const devices: Device[] = [
    dev({ifindex: 4, name: 'cni0', kind: 'bridge', mac: MAC.cni0, bridge: {vlanFiltering: false}, addresses: [{family: 'inet', local: '10.244.1.1', prefixlen: 24}]}),
    dev({ifindex: 5, name: 'vethA', kind: 'veth', mac: MAC.vethA, master: 'cni0', slaveKind: 'bridge', bridgePort: {hairpin: false, state: 'forwarding'}, peer: {ifindex: 2, netnsId: 1, sameNetns: false}}),
    dev({ifindex: 6, name: 'vethB', kind: 'veth', mac: MAC.vethB, master: 'cni0', slaveKind: 'bridge', bridgePort: {hairpin: false, state: 'forwarding'}, peer: {ifindex: 2, netnsId: 2, sameNetns: false}}),
  ]
  const pod = (ip: string, mac: string) => [dev({ifindex: 2, name: 'eth0', kind: 'veth', mac, addresses: [{family: 'inet', local: ip, prefixlen: 24}]})]
  const hooks = {devices, netnsNames: new Map([[1, 'pod-a'], [2, 'pod-b']]), routes: [], neighbours: [], programs: [], links: [], warnings: []} as unknown as NodeState['hooks']
  return {
    ...hooksOnlyState('node1', {kind: 'snapshot'}, hooks, []),
    // The bridge's local entries for its ports' own MACs (as `bridge fdb` prints them).
    fdb: [
      {mac: MAC.vethA, dev: 'vethA', master: 'cni0', flags: [], state: 'permanent'},
      {mac: MAC.vethB, dev: 'vethB', master: 'cni0', flags: [], state: 'permanent'},
    ],
    netnsDevices: new Map([['pod-a', pod('10.244.1.2', MAC.podA)], ['pod-b', pod('10.244.1.3', MAC.podB)]]),
  }
}

const cni0 = (n: NodeState) => n.hooks.devices.find((d) => d.name === 'cni0')!
const port = (n: NodeState, name: string) => n.hooks.devices.find((d) => d.name === name)!

describe('bridge forwarding (br_handle_frame_finish, br_dev_xmit)', () => {
  it('an FDB entry for the destination MAC names the port (br_fdb_find_rcu → br_forward): evidence kernel', () => {
    const n = bridgeNode()
    n.fdb.push({mac: MAC.podB, dev: 'vethB', master: 'cni0', flags: [], state: 'reachable'})
    const d = bridgeForwarding(n, cni0(n), '10.244.1.3', port(n, 'vethA'))
    expect(d).toMatchObject({kind: 'port', flooded: false, evidence: 'kernel'})
    expect(d.kind === 'port' && d.port.name).toBe('vethB')
    expect(d.details.join('\n')).toContain(`FDB of cni0: ${MAC.podB} on port vethB`)
  })

  it("the neighbour table gives the destination MAC when it holds the next hop", () => {
    const n = bridgeNode()
    n.hooks.neighbours.push({dst: '10.244.1.3', dev: 'cni0', lladdr: '02:00:00:00:00:bb', state: ['REACHABLE']})
    n.fdb.push({mac: '02:00:00:00:00:bb', dev: 'vethB', master: 'cni0', flags: []})
    const d = bridgeForwarding(n, cni0(n), '10.244.1.3')
    expect(d.kind === 'port' && d.port.name).toBe('vethB')
    expect(d.details[0]).toContain('neighbour 10.244.1.3 lladdr 02:00:00:00:00:bb on cni0')
  })

  it('no FDB entry: a flood (br_flood), the port whose netns holds the address taken, evidence assumed', () => {
    const n = bridgeNode()
    const d = bridgeForwarding(n, cni0(n), '10.244.1.3', port(n, 'vethA'))
    expect(d).toMatchObject({kind: 'port', flooded: true, evidence: 'assumed'})
    expect(d.kind === 'port' && d.port.name).toBe('vethB')
    expect(d.details.join('\n')).toContain('br_flood sends it to every port but vethA (vethB)')
  })

  it("a frame for the bridge's own address is passed up to the bridge (br_pass_frame_up)", () => {
    const n = bridgeNode()
    expect(bridgeForwarding(n, cni0(n), '10.244.1.1', port(n, 'vethA')).kind).toBe('up')
  })

  it('hairpin: back out of the port it came in by only with hairpin mode on (should_deliver)', () => {
    const n = bridgeNode()
    n.fdb.push({mac: MAC.podA, dev: 'vethA', master: 'cni0', flags: []})
    expect(bridgeForwarding(n, cni0(n), '10.244.1.2', port(n, 'vethA'))).toMatchObject({kind: 'drop'})
    port(n, 'vethA').bridgePort!.hairpin = true
    const d = bridgeForwarding(n, cni0(n), '10.244.1.2', port(n, 'vethA'))
    expect(d.kind === 'port' && d.port.name).toBe('vethA')
  })

  it('a port not in the forwarding state does not send', () => {
    const n = bridgeNode()
    port(n, 'vethB').bridgePort!.state = 'blocking'
    expect(bridgeForwarding(n, cni0(n), '10.244.1.3', port(n, 'vethA'))).toMatchObject({kind: 'drop'})
  })

  it('VLAN filtering on and its VLANs not read (an older snapshot): allowed, said so, evidence assumed', () => {
    const n = bridgeNode()
    cni0(n).bridge = {vlanFiltering: true}
    n.fdb.push({mac: MAC.podB, dev: 'vethB', master: 'cni0', flags: []})
    const d = bridgeForwarding(n, cni0(n), '10.244.1.3', port(n, 'vethA'))
    expect(d).toMatchObject({kind: 'port', evidence: 'assumed'})
    expect(d.details[0]).toContain('VLAN filtering on (vlan_filtering 1) and its VLANs (bridge vlan) were not read')
  })
})

/** cni0 with VLAN filtering: its own VLAN 1 (PVID), vethA and vethB in `a` and `b` as given (kn-23). */
function vlanNode(a: BridgeVlan[], b: BridgeVlan[]): NodeState {
  const n = bridgeNode()
  cni0(n).bridge = {vlanFiltering: true}
  n.bridgeVlans = [{dev: 'cni0', vlans: [{vid: 1, pvid: true, untagged: true}]}, {dev: 'vethA', vlans: a}, {dev: 'vethB', vlans: b}]
  return n
}
const v = (vid: number, pvid = false, untagged = false, vidEnd?: number): BridgeVlan => ({vid, pvid, untagged, ...(vidEnd ? {vidEnd} : {})})

describe('VLAN filtering (br_allowed_ingress, br_allowed_egress, br_handle_vlan)', () => {
  it('the untagged frame takes the ingress PVID; the egress port in that VLAN, untagged: forwarded, evidence kernel', () => {
    const n = vlanNode([v(10, true, true)], [v(5, false, false, 12)].map((x) => ({...x, untagged: true})))
    n.fdb.push({mac: MAC.podB, dev: 'vethB', master: 'cni0', flags: [], vlan: 10})
    const d = bridgeForwarding(n, cni0(n), '10.244.1.3', port(n, 'vethA'))
    expect(d).toMatchObject({kind: 'port', flooded: false, evidence: 'kernel'})
    expect(d.kind === 'port' && d.tag).toBeUndefined()
    expect(d.details.join('\n')).toContain('gets its PVID 10 (br_allowed_ingress)')
    expect(d.details.join('\n')).toContain(`FDB of cni0: ${MAC.podB} vlan 10 on port vethB`)
  })

  it('no PVID on the ingress port: the untagged frame is dropped there', () => {
    const n = vlanNode([v(10)], [v(10, true, true)])
    const d = bridgeForwarding(n, cni0(n), '10.244.1.3', port(n, 'vethA'))
    expect(d).toMatchObject({kind: 'drop'})
    expect(d.what).toBe('port vethA has no PVID (its VLANs: 10): an untagged frame entering there is dropped (br_allowed_ingress)')
  })

  it('the VLAN not configured on the egress port: not sent there (br_allowed_egress), FDB or flood alike', () => {
    const n = vlanNode([v(10, true, true)], [v(20, true, true)])
    const flood = bridgeForwarding(n, cni0(n), '10.244.1.3', port(n, 'vethA'))
    expect(flood).toMatchObject({kind: 'drop', what: 'VLAN 10 is not configured on port vethB (its VLANs: 20 PVID untagged): br_allowed_egress refuses to send the frame there'})
    expect(flood.details.join('\n')).toContain('br_flood sends it to every port but vethA in VLAN 10 (none)')
  })

  it('the FDB is per VLAN: an entry for another VLAN is not used (a flood within the VLAN)', () => {
    const n = vlanNode([v(10, true, true)], [v(10, false, true)])
    n.fdb.push({mac: MAC.podB, dev: 'vethB', master: 'cni0', flags: [], vlan: 20})
    const d = bridgeForwarding(n, cni0(n), '10.244.1.3', port(n, 'vethA'))
    expect(d).toMatchObject({kind: 'port', flooded: true, evidence: 'assumed'})
    expect(d.details.join('\n')).toContain(`no entry for ${MAC.podB} in VLAN 10`)
  })

  it('a frame the node sends on the bridge takes the bridge device\'s own PVID (br_dev_xmit)', () => {
    const n = vlanNode([v(10, true, true)], [v(1, true, true)])
    const d = bridgeForwarding(n, cni0(n), '10.244.1.3')
    expect(d.kind === 'port' && d.port.name).toBe('vethB')
    expect(d.details[0]).toContain('entering by cni0 itself (bridge vlan … self) gets its PVID 1')
  })

  it('sent tagged (not Egress Untagged) into a pod with no VLAN device: the walk drops it in the pod', async () => {
    const n = vlanNode([v(10, true, true)], [v(10)])
    n.brNetfilter = {callIptables: false, present: true}
    const {r} = await walkSameNode(n)
    expect(r.steps.map((s) => `${s.kind} ${s.verdict}`)).toEqual(["pod-route sent on the pod's eth0; appears on vethA (ifindex 5)", 'bridge flood to vethB (VLAN 10 tagged)', 'deliver DROP'])
    expect(r.outcome).toMatchObject({kind: 'dropped'})
    expect(r.outcome.text).toContain('tagged VLAN 10, and no VLAN device there takes it')
  })
})

const flow: FlowSpec = {family: 'ipv4', src: '10.244.1.2', dst: '10.244.1.3', proto: 'tcp', sport: 40000, dport: 6379, mark: 0}

/**
 * Walk pod-a → pod-b with a netfilter evaluator that drops at `dropAt`, DNATs at PREROUTING to `opts.dnat` and SNATs
 * at POSTROUTING to `opts.snat` (and records the hooks it is asked); `opts.routes`: the kernel's answers by destination.
 */
async function walkSameNode(n: NodeState, dropAt?: Hook, opts: {dnat?: string; snat?: string; routes?: Record<string, {type?: string; dev?: string; error?: string}>} = {}) {
  const asked: string[] = []
  n.xt = [{tables: [{}]}] as unknown as NodeState['xt']
  const netfilter = (_node: NodeState, hook: Hook, q: {tuple: Tuple; mark: number; iif?: string; oif?: string}): NetfilterVerdict => {
    asked.push(`${hook} iif=${q.iif ?? '-'} oif=${q.oif ?? '-'}`)
    const tuple = hook === 'prerouting' && opts.dnat && q.tuple.dst === flow.dst ? {...q.tuple, dst: opts.dnat} : hook === 'postrouting' && opts.snat ? {...q.tuple, src: opts.snat} : q.tuple
    return {verdict: hook === dropAt ? 'drop' : 'accept', tuple, mark: q.mark, ct: {state: 'NEW', zone: 0, mark: 0}, rules: [], tables: [], branches: [], unknowns: []}
  }
  const deps = {
    route: async (_n: NodeState, q: {dst: string; iif?: string}) => {
      asked.push(`route ${q.dst}${q.iif ? ` iif ${q.iif}` : ''}`)
      const a = opts.routes?.[q.iif ? `${q.dst} iif` : q.dst] ?? opts.routes?.[q.dst]
      return {type: a?.type ?? 'unicast', ...(a?.dev ? {dev: a.dev} : {}), ...(a?.error ? {error: a.error} : {}), evidence: 'kernel' as const, detail: `ip route get ${q.dst}`}
    },
    podRoute: async () => ({type: 'unicast', dev: 'eth0', evidence: 'kernel' as const, detail: 'ip route get 10.244.1.3 → dev eth0'}),
    netfilter,
  }
  const r = await new PathWalker([n], flow, deps as never).walk()
  return {r, asked}
}

describe('the walk through a bridge, with and without br_netfilter', () => {
  it('same node, br_netfilter off: bridged to pod-b and delivered, no iptables hook', async () => {
    const n = bridgeNode()
    n.brNetfilter = {callIptables: false, present: true}
    const {r, asked} = await walkSameNode(n, 'forward')
    expect(asked).toEqual([])
    expect(r.steps.map((s) => `${s.kind} ${s.verdict}`)).toEqual(['pod-route sent on the pod\'s eth0; appears on vethA (ifindex 5)', 'bridge flood to vethB', 'deliver deliver'])
    expect(r.steps[1]!.details).toContain('net.bridge.bridge-nf-call-iptables = 0: bridged frames skip iptables')
    expect(r.outcome).toMatchObject({kind: 'delivered', text: 'reaches 10.244.1.3:6379 in pod-b on node1'})
    // Into pod-b's netns by vethB: the packet model's netns crossing applies (mark cleared, conntrack reset).
    expect(r.steps[2]!.where).toMatchObject({device: 'vethB', inPod: 'pod-b'})
  })

  it('same node, br_netfilter on: PREROUTING, FORWARD, POSTROUTING with the bridge as device (br_nf_*)', async () => {
    const n = bridgeNode()
    n.brNetfilter = {callIptables: true, present: true}
    const {r, asked} = await walkSameNode(n)
    expect(asked).toEqual(['prerouting iif=cni0 oif=-', 'forward iif=cni0 oif=cni0', 'postrouting iif=- oif=cni0'])
    expect(r.steps.map((s) => s.kind)).toEqual(['pod-route', 'netfilter', 'bridge', 'netfilter', 'netfilter', 'deliver'])
    expect(r.outcome.kind).toBe('delivered')
  })

  it("the bridge's own nf_call_iptables turns br_netfilter on with the sysctl at 0; not loaded, nothing does", async () => {
    const n = bridgeNode()
    n.brNetfilter = {callIptables: false, present: true}
    cni0(n).bridge = {vlanFiltering: false, nfCallIptables: true}
    expect((await walkSameNode(n)).asked).toEqual(['prerouting iif=cni0 oif=-', 'forward iif=cni0 oif=cni0', 'postrouting iif=- oif=cni0'])
    n.brNetfilter = {callIptables: false, present: false}
    expect((await walkSameNode(n)).asked).toEqual([])
  })

  it('br_netfilter on and a FORWARD drop: the bridged frame is dropped there', async () => {
    const n = bridgeNode()
    n.brNetfilter = {callIptables: true, present: true}
    const {r} = await walkSameNode(n, 'forward')
    expect(r.outcome).toMatchObject({kind: 'dropped'})
    expect(r.outcome.text).toContain('dropped by netfilter forward on node1')
    expect(r.steps.at(-1)).toMatchObject({kind: 'netfilter', where: {hook: 'netfilter forward', device: 'cni0'}})
  })
})

describe('the reply on one bridge: a Service DNAT that the answer never crosses', () => {
  // kube-proxy's classic need for br_netfilter: pod-a → Service 10.96.0.81:80, DNATed at PREROUTING to pod-b on the
  // same bridge; pod-b answers pod-a directly on the bridge, so no conntrack hook undoes the DNAT.
  const rules = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A PREROUTING -d 10.96.0.81/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.3:80', 'COMMIT', '']
  const oracle: KernelOracle = {
    route: async (_n, q) => ({type: 'unicast', dev: 'cni0', evidence: 'kernel', detail: `ip route get ${q.dst} → dev cni0`}),
    podRoute: async (_n, _ns, dst) => (dst.startsWith('10.244.1.') ? {type: 'unicast', dev: 'eth0', evidence: 'kernel', detail: `${dst} dev eth0`} : {type: 'unicast', dev: 'eth0', gateway: '10.244.1.1', evidence: 'kernel', detail: `${dst} via 10.244.1.1 dev eth0`}),
  }
  const node = (brNetfilter: boolean) => {
    const n = bridgeNode()
    n.brNetfilter = {callIptables: brNetfilter, present: true}
    n.hooks.neighbours.push({dst: '10.244.1.3', dev: 'cni0', lladdr: MAC.podB, state: ['REACHABLE']}, {dst: '10.244.1.2', dev: 'cni0', lladdr: MAC.podA, state: ['REACHABLE']})
    n.xt = [parseIptablesSave(rules.join('\n'), {family: 'ipv4', backend: 'nft'}).facts]
    return n
  }
  const svc: FlowSpec = {family: 'ipv4', src: '10.244.1.2', dst: '10.96.0.81', proto: 'tcp', sport: 40000, dport: 80, mark: 0}

  it('br_netfilter off: the SYN reaches pod-b, the answer arrives from 10.244.1.3:80, which no socket of pod-a matches', async () => {
    const r = await traceFlow([node(false)], svc, oracle, {reply: true})
    expect(r.outcome).toMatchObject({kind: 'delivered', text: 'reaches 10.244.1.3:80 in pod-b on node1'})
    expect(r.reply!.outcome.kind).toBe('dropped')
    expect(r.reply!.outcome.text).toMatch(/^the reply never comes back \(10\.96\.0\.81:80 → 10\.244\.1\.2:40000\): the reply arrives as 10\.244\.1\.3:80 → 10\.244\.1\.2:40000, which is not the connection the client opened .*its source is 10\.244\.1\.3:80, not 10\.96\.0\.81:80: the destination NAT was not undone.*TCP answers it with a reset \(tcp_v4_send_reset\)$/)
  })

  it('br_netfilter on: the bridged answer crosses POSTROUTING, is un-DNATed there and comes back', async () => {
    const r = await traceFlow([node(true)], svc, oracle, {reply: true})
    expect(r.reply!.outcome.text).toMatch(/^the reply comes back/)
    expect(r.reply!.steps.at(-1)!.tuple).toMatchObject({src: '10.96.0.81', sport: 80})
  })
})

describe('br_netfilter DNAT of a bridged frame (br_nf_pre_routing_finish) and hairpin', () => {
  /** node1 with a third pod, pod-c (10.244.1.4) behind vethC, and a routed device ext0 (10.9.0.1/24). */
  function dnatNode(): NodeState {
    const n = bridgeNode()
    n.brNetfilter = {callIptables: true, present: true}
    n.hooks.devices.push(
      dev({ifindex: 7, name: 'vethC', kind: 'veth', mac: 'ce:62:92:9f:0c:93', master: 'cni0', slaveKind: 'bridge', bridgePort: {hairpin: false, state: 'forwarding'}, peer: {ifindex: 2, netnsId: 3, sameNetns: false}}),
      dev({ifindex: 8, name: 'ext0', kind: 'veth', addresses: [{family: 'inet', local: '10.9.0.1', prefixlen: 24}], peer: {ifindex: 2, netnsId: 4, sameNetns: false}}),
    )
    n.hooks.netnsNames.set(3, 'pod-c')
    n.hooks.netnsNames.set(4, 'outside')
    n.netnsDevices.set('pod-c', [dev({ifindex: 2, name: 'eth0', kind: 'veth', mac: '02:00:00:00:00:0c', addresses: [{family: 'inet', local: '10.244.1.4', prefixlen: 24}]})])
    n.netnsDevices.set('outside', [dev({ifindex: 2, name: 'eth0', kind: 'veth', addresses: [{family: 'inet', local: '10.9.0.2', prefixlen: 24}]})])
    return n
  }

  it('DNAT to an address routed out the bridge itself: still bridged, to the new destination\'s port, FORWARD and POSTROUTING on the bridge', async () => {
    const {r, asked} = await walkSameNode(dnatNode(), undefined, {dnat: '10.244.1.4', routes: {'10.244.1.4 iif': {dev: 'cni0'}}})
    expect(asked).toEqual(['prerouting iif=cni0 oif=-', 'route 10.244.1.4 iif cni0', 'forward iif=cni0 oif=cni0', 'postrouting iif=- oif=cni0'])
    expect(r.steps.map((s) => `${s.kind} ${s.verdict}`)).toEqual(["pod-route sent on the pod's eth0; appears on vethA (ifindex 5)", 'netfilter ACCEPT', 'bridge flood to vethC', 'netfilter ACCEPT', 'netfilter ACCEPT', 'deliver deliver'])
    expect(r.steps[2]!.details.join('\n')).toContain('PREROUTING changed the destination 10.244.1.3 → 10.244.1.4: br_nf_pre_routing_finish routes it again')
    expect(r.outcome).toMatchObject({kind: 'delivered', text: 'reaches 10.244.1.4:6379 in pod-c on node1'})
  })

  it('DNAT to an address routed out another device: passed up to the bridge and routed (no second PREROUTING)', async () => {
    const {r, asked} = await walkSameNode(dnatNode(), undefined, {dnat: '10.9.0.2', routes: {'10.9.0.2': {dev: 'ext0'}}})
    expect(asked).toEqual(['prerouting iif=cni0 oif=-', 'route 10.9.0.2 iif cni0', 'route 10.9.0.2 iif cni0', 'forward iif=cni0 oif=ext0', 'postrouting iif=- oif=ext0'])
    expect(r.steps.map((s) => `${s.kind} ${s.verdictKind}`)).toEqual(['pod-route route', 'netfilter accept', 'bridge pass-up', 'routing route', 'netfilter accept', 'netfilter accept', 'deliver deliver'])
    expect(r.steps[2]!.what).toBe('DNAT moved the destination to 10.9.0.2, routed out ext0, not cni0: the frame is no longer bridged, passed up to cni0 and routed')
    expect(r.outcome).toMatchObject({kind: 'delivered', text: 'reaches 10.9.0.2:6379 in outside on node1'})
  })

  it('ip_route_input fails (forwarding off): ip_route_output decides, bridged only if it leaves by the bridge, else dropped', async () => {
    const kept = await walkSameNode(dnatNode(), undefined, {dnat: '10.244.1.4', routes: {'10.244.1.4 iif': {error: 'No route to host'}, '10.244.1.4': {dev: 'cni0'}}})
    expect(kept.r.outcome.kind).toBe('delivered')
    const freed = await walkSameNode(dnatNode(), undefined, {dnat: '10.9.0.2', routes: {'10.9.0.2 iif': {error: 'No route to host'}, '10.9.0.2': {dev: 'ext0'}}})
    expect(freed.r.outcome.kind).toBe('dropped')
    expect(freed.r.steps.at(-1)).toMatchObject({kind: 'bridge', verdictKind: 'drop'})
  })

  it('DNAT back to the sender (a hairpin): dropped by should_deliver with hairpin off; with hairpin on and SNAT, delivered', async () => {
    const routes = {'10.244.1.2 iif': {dev: 'cni0'}}
    const off = dnatNode()
    const dropped = await walkSameNode(off, undefined, {dnat: '10.244.1.2', routes})
    expect(dropped.r.outcome.text).toBe('dropped by cni0 on node1: 10.244.1.2 is behind vethA, the port the frame came in by, and hairpin mode is off on it')
    const on = dnatNode()
    port(on, 'vethA').bridgePort!.hairpin = true
    const snatted = await walkSameNode(on, undefined, {dnat: '10.244.1.2', snat: '10.244.1.1', routes})
    expect(snatted.r.outcome).toMatchObject({kind: 'delivered', text: 'reaches 10.244.1.2:6379 in pod-a on node1'})
    expect(snatted.r.steps.find((s) => s.kind === 'bridge')!.details.join('\n')).toContain('hairpin mode is on for vethA')
    // Without the SNAT the pod receives a packet from its own address: a martian source.
    const martian = await walkSameNode(on, undefined, {dnat: '10.244.1.2', routes})
    expect(martian.r.outcome.kind).toBe('dropped')
    expect(martian.r.outcome.text).toContain('dropped as a martian source')
  })
})
