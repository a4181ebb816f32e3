// The lab's five flows with real packets (prefix nilab-t<pid>o): for each, a probe from curl under
// `nft monitor trace` in node 1, then the flow recordings in path order. What the trace feature will be checked
// against: the DNAT rule and the post-DNAT address, the masquerade seen by the external listener, the drop verdict.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {labRun} from '../../src/lab/exec.js'
import type {LabState} from '../../src/lab/state.js'
import {existingLabNamespaces, labDown, processesInNamespaces} from '../../src/lab/teardown.js'
import type {LabFlow, LabFlowKind} from '../../src/lab/topology.js'
import {labUp} from '../../src/lab/up.js'
import {formatPathStep, readFlowPath, type FlowTuple, type PathStep} from '../support/flow-path.js'
import {probeFlow, readPeerLog, sendProbe, type ProbeResult} from '../support/lab-probe.js'
import {formatTraceEvent, traceGroups, traceVerdict, withNftTrace, type TraceEvent} from '../support/nft-trace.js'
import {LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from './live.js'
import {readFlowRecords} from '../support/flow-records.js'

const skipReason = liveLabSkipReason(['iptables-restore', 'iptables-save', 'nft'])
if (skipReason) console.warn(`test/lab/observe.integration.test.ts: skipping: ${skipReason}`)

const prefix = `nilab-t${process.pid}o`
const node1 = `${prefix}-node1`
const SPORT: Record<LabFlowKind, number> = {'pod-to-pod-cross-node': 42001, 'pod-to-pod-same-node': 42002, 'pod-to-service': 42003, 'pod-to-external-masquerade': 42004, 'pod-dropped-by-mark': 42005}

interface Observed {
  probe: ProbeResult
  events: TraceEvent[]
  forward: PathStep[]
  reply: PathStep[]
}

const path = (steps: PathStep[]) => steps.map((s) => `${s.node} ${s.devname}(${s.ifindex}) ${s.hook}${s.encapsulated ? ' encap' : ''} ${s.tuple.saddr}:${s.tuple.sport} -> ${s.tuple.daddr}:${s.tuple.dport}`)

describe.skipIf(!!skipReason)(`observing the lab's flows (${skipReason || 'root, BPF, netns, nft'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  let state: LabState
  const seen = new Map<LabFlowKind, Observed>()

  /** Probe one flow from its pod under a trace in node 1, then read its recordings (NAT-translated tuples included). */
  async function observe(f: LabFlow, translated: {forward?: Array<Partial<FlowTuple>>; reply?: Array<Partial<FlowTuple>>} = {}): Promise<Observed> {
    let probe: ProbeResult | undefined
    const t0 = performance.now()
    const events = await withNftTrace(node1, {saddr: f.src, daddr: f.dst, proto: f.proto, sport: SPORT[f.kind], dport: f.dport}, async () => {
      probe = await sendProbe(prefix, {fromPod: f.fromPod, dst: f.dst, dport: f.dport, proto: f.proto, sport: SPORT[f.kind], timeoutMs: f.expect.connected ? 3000 : 1000})
    })
    const flow = probeFlow(probe!)
    const forward = await readFlowPath(prefix, flow, {translated: translated.forward})
    const reply = await readFlowPath(prefix, flow, {direction: 'reply', translated: translated.reply})
    const o = {probe: probe!, events, forward, reply}
    seen.set(f.kind, o)
    // The sample for people: the first packet's trace, the path both ways.
    const first = traceGroups(events)[0]
    console.log(
      [
        `${f.kind}: connected=${o.probe.connected} sport=${o.probe.localPort}${o.probe.peerSeen ? ` peerSeen=${o.probe.peerSeen.address}:${o.probe.peerSeen.port}` : ''}${o.probe.error ? ` error=${o.probe.error}` : ''} (${Math.round(performance.now() - t0)} ms, ${traceGroups(events).length} packets traced)`,
        ...(first ? first.events.map((e) => `  trace ${e.id} ${formatTraceEvent(e)}`) : []),
        ...forward.map((s) => `  -> ${formatPathStep(s)}`),
        ...reply.map((s) => `  <- ${formatPathStep(s)}`),
      ].join('\n'),
    )
    return o
  }
  const flow = (kind: LabFlowKind) => state.flows.find((f) => f.kind === kind)!
  const rules = (o: Observed) => o.events.filter((e) => e.kind === 'rule')

  beforeAll(async () => {
    await sweepStaleLabs('o')
    state = await labUp({prefix})
  })
  afterAll(async () => {
    await labDown(prefix)
    expect(existingLabNamespaces(prefix)).toEqual([])
  })

  it('pod -> pod across nodes: accepted in node 1, recorded at every hook of both nodes in datapath order', async () => {
    const o = await observe(flow('pod-to-pod-cross-node'))
    expect(o.probe).toMatchObject({connected: true, httpStatus: 200, localPort: 42001, peerSeen: {address: '10.42.1.80', port: 42001}})
    const packets = traceGroups(o.events)
    expect(packets.length).toBeGreaterThanOrEqual(4)
    expect(packets.every((p) => traceVerdict(p.events) === 'accept')).toBe(true)
    expect(packets[0]!.events[0]).toMatchObject({kind: 'packet', table: 'mangle', chain: 'PREROUTING', packet: {iif: 'lxc48c4aa0637ce', saddr: '10.42.1.80', daddr: '10.42.0.51', sport: 42001, dport: 80, tcpFlags: 'syn'}})
    expect(packets[0]!.events.find((e) => e.table === 'filter' && e.kind === 'packet')!.packet).toMatchObject({oif: 'cilium_vxlan', daddr: '10.42.0.51'})
    // No NAT on this flow.
    expect(rules(o).some((e) => /dnat|masquerade/.test(e.rule ?? ''))).toBe(false)
    const t = '10.42.1.80:42001 -> 10.42.0.51:80'
    expect(path(o.forward)).toEqual([
      `node1 lxc48c4aa0637ce(43) from-container ${t}`,
      `node1 cilium_vxlan(5) to-overlay ${t}`,
      `node1 eth0(2) to-netdev encap ${t}`,
      `node2 eth0(2) xdp encap ${t}`,
      `node2 eth0(2) foreign encap ${t}`,
      `node2 eth0(2) from-netdev encap ${t}`,
      `node2 cilium_vxlan(5) from-overlay ${t}`,
      `node2 lxc65015af813d1(29) to-container ${t}`,
    ])
    expect(o.reply.map((s) => `${s.node} ${s.hook}`)).toEqual(['node2 from-container', 'node2 to-overlay', 'node2 to-netdev', 'node1 from-netdev', 'node1 from-overlay', 'node1 to-container'])
    expect(o.forward.every((s) => s.mark === 0)).toBe(true)
  })

  it('pod -> pod on one node: from-container, then the tail call into nginx\'s to-container; routed to nginx\'s lxc', async () => {
    const o = await observe(flow('pod-to-pod-same-node'))
    expect(o.probe).toMatchObject({connected: true, httpStatus: 200, peerSeen: {address: '10.42.1.80'}})
    expect(traceGroups(o.events)[0]!.events.find((e) => e.table === 'filter' && e.kind === 'packet')!.packet).toMatchObject({iif: 'lxc48c4aa0637ce', oif: 'lxc9a1f2e8b40c7', daddr: '10.42.1.81'})
    expect(path(o.forward)).toEqual(['node1 lxc48c4aa0637ce(43) from-container 10.42.1.80:42002 -> 10.42.1.81:80', 'node1 lxc9a1f2e8b40c7(45) to-container 10.42.1.80:42002 -> 10.42.1.81:80'])
    expect(o.reply.map((s) => `${s.devname} ${s.hook}`)).toEqual(['lxc9a1f2e8b40c7 from-container', 'lxc48c4aa0637ce to-container'])
    // Nothing of it reached node 2.
    expect(o.forward.concat(o.reply).every((s) => s.node === 'node1')).toBe(true)
  })

  it('pod -> Service VIP: the trace shows kube-proxy\'s chain walk and the DNAT; the recordings show the endpoint after node 1\'s stack', async () => {
    const f = flow('pod-to-service')
    const o = await observe(f, {forward: [{daddr: '10.42.0.51'}], reply: [{saddr: '10.42.0.51'}]})
    expect(o.probe).toMatchObject({connected: true, httpStatus: 200, peerSeen: {address: '10.42.1.80', port: 42003}})
    const syn = traceGroups(o.events)[0]!.events
    const svc = state.services[0]!
    expect(syn.filter((e) => e.kind === 'rule' && e.table === 'nat').map((e) => `${e.chain} -> ${e.verdict}`)).toEqual([
      'PREROUTING -> jump KUBE-SERVICES',
      `KUBE-SERVICES -> jump ${svc.svcChain}`,
      `${svc.svcChain} -> jump ${svc.endpoints[0]!.sepChain}`,
      `${svc.endpoints[0]!.sepChain} -> accept`,
      'POSTROUTING -> jump KUBE-POSTROUTING',
      'KUBE-POSTROUTING -> return',
    ])
    const dnat = syn.find((e) => e.chain === f.expect.dnat!.chain)!
    expect(dnat.rule).toMatch(/dnat to 10\.42\.0\.51:80$/)
    expect(dnat.handle).toBeGreaterThan(0)
    const pkt = (table: string, chain: string) => syn.find((e) => e.kind === 'packet' && e.table === table && e.chain === chain)!.packet!
    expect(pkt('nat', 'PREROUTING').daddr).toBe('10.96.0.80')
    expect(pkt('filter', 'FORWARD')).toMatchObject({daddr: '10.42.0.51', dport: 80, oif: 'cilium_vxlan'})
    // Recordings: the VIP at the pod's lxc (before the stack), the endpoint from cilium_vxlan on.
    expect(path(o.forward).slice(0, 3)).toEqual([
      'node1 lxc48c4aa0637ce(43) from-container 10.42.1.80:42003 -> 10.96.0.80:80',
      'node1 cilium_vxlan(5) to-overlay 10.42.1.80:42003 -> 10.42.0.51:80',
      'node1 eth0(2) to-netdev encap 10.42.1.80:42003 -> 10.42.0.51:80',
    ])
    expect(o.forward.map((s) => s.translated)).toEqual([false, true, true, true, true, true, true, true])
    expect(o.forward.at(-1)).toMatchObject({node: 'node2', hook: 'to-container', devname: 'lxc65015af813d1'})
    // Nothing was ever recorded with the VIP past node 1's lxc.
    const all = await readFlowRecords({prefix})
    expect(all.filter((r) => (r.daddr === '10.96.0.80' || r.saddr === '10.96.0.80') && r.sport !== 0).map((r) => `${r.node} ${r.hook}`)).toEqual(['node1 from-container'])
  })

  it('pod -> outside: masqueraded by the POSTROUTING rule; the external listener saw 172.31.0.1, the wire too', async () => {
    const f = flow('pod-to-external-masquerade')
    const o = await observe(f, {forward: [{saddr: '172.31.0.1', sport: SPORT[f.kind]}], reply: [{daddr: '172.31.0.1', dport: SPORT[f.kind]}]})
    expect(o.probe).toMatchObject({connected: true, httpStatus: 200, peerSeen: {address: '172.31.0.1'}})
    const port = o.probe.peerSeen!.port
    expect(readPeerLog(prefix, 'ext').map((p) => `${p.proto} ${p.peer.address}:${p.peer.port} ${p.local}`)).toContain(`tcp 172.31.0.1:${port} 172.31.0.2:80`)
    const syn = traceGroups(o.events)[0]!.events
    const masq = syn.find((e) => e.kind === 'rule' && e.table === 'nat' && e.chain === 'POSTROUTING' && /masquerade/.test(e.rule ?? ''))!
    expect(masq).toMatchObject({verdict: 'accept'})
    expect(masq.rule).toMatch(/^oifname "eth1" ip saddr 10\.42\.0\.0\/16 ip daddr != 10\.42\.0\.0\/16 .*masquerade$/)
    expect(path(o.forward)).toEqual([`node1 lxc48c4aa0637ce(43) from-container 10.42.1.80:42004 -> 172.31.0.2:80`, `node1 eth1(6) to-netdev 172.31.0.1:${port} -> 172.31.0.2:80`])
    expect(path(o.reply)).toEqual([`node1 eth1(6) from-netdev 172.31.0.2:80 -> 172.31.0.1:${port}`])
    // The external namespace cannot reach the pod address at all: only the masquerade made it work.
    expect(JSON.parse((await labRun('ext route', ['ip', '-n', state.ext.netns, '-j', 'route', 'show'])).stdout)).toEqual([expect.objectContaining({dst: '172.31.0.0/24', dev: 'eth0'})])
  })

  it('pod -> redis:6379: marked 0x8000 in mangle, dropped by KUBE-FIREWALL; nothing reached node 2', async () => {
    const o = await observe(flow('pod-dropped-by-mark'))
    expect(o.probe).toMatchObject({connected: false, localPort: 42005})
    expect(o.probe.error).toMatch(/timed out/)
    const packets = traceGroups(o.events)
    expect(packets.length).toBeGreaterThanOrEqual(1)
    for (const p of packets) {
      expect(traceVerdict(p.events)).toBe('drop')
      expect(p.events.find((e) => e.kind === 'rule' && e.chain === 'KUBE-MARK-DROP')).toMatchObject({verdict: 'continue'})
      expect(p.events.find((e) => e.kind === 'policy' && e.table === 'mangle' && e.chain === 'PREROUTING')!.mark).toBe(0x8000)
      expect(p.events.at(-1)).toMatchObject({table: 'filter', chain: 'KUBE-FIREWALL', kind: 'rule', verdict: 'drop'})
      expect(p.events.at(-1)!.rule).toMatch(/^meta mark & 0x00008000 == 0x00008000 .*drop$/)
    }
    expect(path(o.forward)).toEqual(['node1 lxc48c4aa0637ce(43) from-container 10.42.1.80:42005 -> 10.42.0.52:6379'])
    expect(o.reply).toEqual([])
    const all = await readFlowRecords({prefix})
    expect(all.filter((r) => r.nodeId === 2 && (r.daddr === '10.42.0.52' || r.saddr === '10.42.0.52'))).toEqual([])
  })

  it('a UDP probe to the outside is masqueraded too (the listener echoes the peer it saw)', async () => {
    let probe: ProbeResult | undefined
    const events = await withNftTrace(node1, {saddr: '10.42.1.80', daddr: '172.31.0.2', proto: 'udp', dport: 80}, async () => {
      probe = await sendProbe(prefix, {fromPod: 'curl', dst: '172.31.0.2', dport: 80, proto: 'udp'})
    })
    expect(probe).toMatchObject({connected: true, proto: 'udp', peerSeen: {address: '172.31.0.1'}})
    expect(events.find((e) => e.kind === 'packet')!.packet).toMatchObject({proto: 'udp', dport: 80, sport: probe!.localPort})
    expect(events.some((e) => e.kind === 'rule' && /masquerade/.test(e.rule ?? ''))).toBe(true)
    expect(readPeerLog(prefix, 'ext').some((p) => p.proto === 'udp' && p.peer.address === '172.31.0.1')).toBe(true)
  })

  it('withNftTrace leaves nothing behind, also when fn throws', async () => {
    const err = await withNftTrace(node1, {saddr: '10.42.1.80'}, async () => {
      throw new Error('probe failed on purpose')
    }).catch((e: unknown) => e)
    expect((err as Error).message).toBe('probe failed on purpose')
    const tables = (await labRun('nft tables', ['nft', 'list', 'tables'], {netns: node1})).stdout
    expect(tables).not.toContain('nilab_trace_')
    // No nft monitor is left running in node 1.
    const monitors = processesInNamespaces([node1]).filter((p) => p.comm === 'nft')
    expect(monitors).toEqual([])
    expect(seen.size).toBe(5)
  })
})
