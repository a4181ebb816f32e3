// The pure parts of the lab observation support (test/support/lab-probe.ts, nft-trace.ts, flow-path.ts) on real
// captures (testdata/lab/, made by test/lab/capture.integration.test.ts on the base lab): nft monitor trace parsing
// and grouping, the trace table, probe output, peer logs, and the path order of the flow recordings for the lab's
// five flows.
import {describe, expect, it} from 'vitest'
import {labTopology} from '../../src/lab/topology.js'
import {flowPath, formatPathStep, HOOK_PATH_ORDER, reverseTuple} from '../support/flow-path.js'
import {parsePeerLog, parseProbeOutput, probeFlow, type ProbeResult} from '../support/lab-probe.js'
import {formatTraceEvent, netlinkTraceSubscribed, nftTraceRuleset, parseNftMonitorTrace, parseTracePacket, traceGroups, traceVerdict, type TraceEvent} from '../support/nft-trace.js'
import {testdata} from '../helpers/fixtures.js'
import {parseFlowMapDump} from '../support/flow-records.js'

const trace = (kind: string) => parseNftMonitorTrace(testdata(`lab/nft-trace-${kind}.txt`))
const notOwn = (evs: TraceEvent[]) => evs.filter((e) => !e.table.startsWith('nilab_trace_'))

describe('parseNftMonitorTrace (nftables 1.0.6, real captures)', () => {
  it('reads every line of the Service flow: packets, rules with handle and verdict, policies', () => {
    const evs = trace('pod-to-service')
    expect(evs).toHaveLength(testdata('lab/nft-trace-pod-to-service.txt').trim().split('\n').length)
    const dnat = evs.find((e) => e.chain === 'KUBE-SEP-YTXN4VEJAMOLS3CC')!
    expect(dnat).toMatchObject({family: 'ip', table: 'nat', kind: 'rule', handle: 24, verdict: 'accept', rule: 'meta l4proto tcp counter packets 0 bytes 0 dnat to 10.42.0.51:80'})
    expect(evs.find((e) => e.kind === 'rule' && e.chain === 'KUBE-SERVICES')).toMatchObject({verdict: 'jump KUBE-SVC-FREKB6WNWYJLKTHC', rule: 'meta l4proto tcp ip daddr 10.96.0.80 tcp dport 80 counter packets 0 bytes 0 jump KUBE-SVC-FREKB6WNWYJLKTHC'})
    // Before DNAT (nat PREROUTING) and after (filter FORWARD): the packet lines show the translation.
    const pkt = (table: string, chain: string) => evs.find((e) => e.kind === 'packet' && e.table === table && e.chain === chain)!.packet
    expect(pkt('nat', 'PREROUTING')).toEqual({iif: 'lxc48c4aa0637ce', etherSaddr: 'f6:00:50:f9:92:a1', etherDaddr: 'ae:36:76:3e:c3:03', saddr: '10.42.1.80', daddr: '10.96.0.80', proto: 'tcp', sport: 41003, dport: 80, tcpFlags: 'syn', ttl: 64, ipId: 44891, length: 60})
    expect(pkt('filter', 'FORWARD')).toMatchObject({iif: 'lxc48c4aa0637ce', oif: 'cilium_vxlan', daddr: '10.42.0.51', ttl: 63})
    expect(evs.find((e) => e.kind === 'policy' && e.table === 'nat' && e.chain === 'POSTROUTING')).toMatchObject({policy: 'accept', mark: 0})
    expect(evs.find((e) => e.chain === 'KUBE-POSTROUTING')).toMatchObject({kind: 'rule', verdict: 'return'})
  })

  it("groups by packet even when the kernel reuses a trace id (it hashes the skb's address)", () => {
    const evs = trace('pod-to-service')
    const groups = traceGroups(evs)
    // SYN, ACK, request (PSH|ACK), ACK, FIN|ACK: 5 packets; the 1st and 3rd share one id.
    expect(groups.map((g) => g.events[0]!.packet!.tcpFlags)).toEqual(['syn', 'ack', '0x18', 'ack', '0x11'])
    expect(groups[0]!.id).toBe(groups[2]!.id)
    // The same grouping without the trace table's own lines.
    expect(traceGroups(notOwn(evs)).map((g) => g.events.length)).toEqual(groups.map((g) => g.events.length - 3))
    // Only the SYN goes through nat (conntrack does the rest).
    expect(groups.map((g) => g.events.some((e) => e.table === 'nat'))).toEqual([true, false, false, false, false])
    expect(groups.map((g) => traceVerdict(g.events))).toEqual(['accept', 'accept', 'accept', 'accept', 'accept'])
  })

  it('the mark-drop flow: marked 0x8000 in mangle, dropped by KUBE-FIREWALL in filter FORWARD', () => {
    const evs = notOwn(trace('pod-dropped-by-mark'))
    expect(traceGroups(evs)).toHaveLength(1)
    expect(traceVerdict(evs)).toBe('drop')
    expect(evs.find((e) => e.chain === 'KUBE-MARK-DROP')).toMatchObject({kind: 'rule', verdict: 'continue', rule: 'counter packets 0 bytes 0 meta mark set mark or 0x8000'})
    expect(evs.find((e) => e.kind === 'policy' && e.table === 'mangle' && e.chain === 'PREROUTING')!.mark).toBe(0x8000)
    expect(evs.at(-1)).toMatchObject({table: 'filter', chain: 'KUBE-FIREWALL', kind: 'rule', verdict: 'drop', handle: 10, rule: 'meta mark & 0x00008000 == 0x00008000 counter packets 0 bytes 0 drop'})
    expect(formatTraceEvent(evs.at(-1)!)).toBe('ip filter KUBE-FIREWALL rule "meta mark & 0x00008000 == 0x00008000 counter packets 0 bytes 0 drop" #10 -> drop')
  })

  it('the masquerade flow leaves by eth1 through the MASQUERADE rule; the others pass', () => {
    const evs = notOwn(trace('pod-to-external-masquerade'))
    expect(evs.find((e) => e.kind === 'packet' && e.table === 'filter')!.packet!.oif).toBe('eth1')
    expect(evs.find((e) => e.kind === 'rule' && e.table === 'nat' && e.chain === 'POSTROUTING' && e.verdict === 'accept')!.rule).toBe(
      'oifname "eth1" ip saddr 10.42.0.0/16 ip daddr != 10.42.0.0/16 counter packets 0 bytes 0 masquerade',
    )
    for (const kind of ['pod-to-pod-cross-node', 'pod-to-pod-same-node']) {
      const g = traceGroups(notOwn(trace(kind)))
      expect(g.length, kind).toBeGreaterThanOrEqual(4)
      expect(g.every((x) => traceVerdict(x.events) === 'accept'), kind).toBe(true)
      expect(notOwn(trace(kind)).some((e) => e.table === 'nat' && e.kind === 'rule' && /dnat|masquerade/.test(e.rule ?? '')), kind).toBe(false)
    }
  })

  it('reads policy/verdict marks, rules without a handle, and skips what is not a trace line', () => {
    const text = [
      'trace id 771c3c35 ip mangle OUTPUT rule udp dport 9999 counter packets 1 bytes 31 meta mark set 0x4000 (verdict continue)',
      'trace id 771c3c35 ip mangle OUTPUT policy accept meta mark 0x00004000 ',
      'trace id 771c3c35 ip filter KUBE-FORWARD verdict continue meta mark 0x00008800',
      'trace id 771c3c35 ip filter KUBE-FORWARD verdict return',
      '# Warning: table ip filter is managed by iptables-nft, do not touch!',
      '',
    ].join('\n')
    const evs = parseNftMonitorTrace(text)
    expect(evs.map((e) => [e.kind, e.verdict ?? e.policy, e.mark, e.handle])).toEqual([
      ['rule', 'continue', undefined, undefined],
      ['policy', 'accept', 0x4000, undefined],
      ['verdict', 'continue', 0x8800, undefined],
      ['verdict', 'return', 0, undefined],
    ])
    expect(parseTracePacket('iif "lo" @ll,0,112 0x800 ip saddr 127.0.0.1 ip daddr 127.0.0.1 udp sport 42997 udp dport 9999 udp length 11 @th,64,24 0x68690a')).toEqual({iif: 'lo', saddr: '127.0.0.1', daddr: '127.0.0.1', proto: 'udp', sport: 42997, dport: 9999})
  })
})

describe('the trace table and the monitor start', () => {
  it('sets nftrace at raw priority (-350) in prerouting and output for exactly the flow', () => {
    expect(nftTraceRuleset('nilab_trace_1_1', {saddr: '10.42.1.80', daddr: '10.96.0.80', proto: 'tcp', sport: 41003, dport: 80})).toBe(
      [
        'table ip nilab_trace_1_1 {',
        '\tchain pre { type filter hook prerouting priority -350; policy accept; ip saddr 10.42.1.80 ip daddr 10.96.0.80 meta l4proto tcp tcp sport 41003 tcp dport 80 meta nftrace set 1; }',
        '\tchain out { type filter hook output priority -350; policy accept; ip saddr 10.42.1.80 ip daddr 10.96.0.80 meta l4proto tcp tcp sport 41003 tcp dport 80 meta nftrace set 1; }',
        '}',
        '',
      ].join('\n'),
    )
    expect(nftTraceRuleset('t', {saddr: '10.42.1.80', proto: 'icmp'})).toContain('ip saddr 10.42.1.80 meta l4proto icmp meta nftrace set 1;')
    expect(() => nftTraceRuleset('t', {saddr: '10.42.1.80; flush ruleset'})).toThrow(/not an IPv4 address/)
    expect(() => nftTraceRuleset('t', {saddr: '10.42.1.80', dport: 80})).toThrow(/ports need proto/)
    expect(() => nftTraceRuleset('T;x', {saddr: '10.42.1.80'})).toThrow(/bad table name/)
  })

  it('knows the monitor is listening from /proc/<pid>/net/netlink (NETLINK_NETFILTER, group NFNLGRP_NFTRACE)', () => {
    const proc = [
      'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
      '00000000aca368d1 12  9967       00000100 0        0        0     2        0        202441  ',
      '0000000057e0a47e 12  0          00000000 0        0        0     2        0        203327  ',
      '0000000011111111 0   9968       00000001 0        0        0     2        0        203328  ',
    ].join('\n')
    expect(netlinkTraceSubscribed(proc, 9967)).toBe(true)
    expect(netlinkTraceSubscribed(proc, 9968)).toBe(false)
    expect(netlinkTraceSubscribed(proc, 1)).toBe(false)
  })
})

describe('probes and peer logs', () => {
  it('parses lab/probe.mjs output: a connection, a masqueraded peer, a timeout', () => {
    const req = {fromPod: 'curl', src: '10.42.1.80', dst: '172.31.0.2', dport: 80}
    expect(parseProbeOutput('{"proto":"tcp","local":"10.42.1.80:53026","remote":"172.31.0.2:80","connected":true,"status":200,"peerSeen":"172.31.0.1:53026","ms":10}\n', req)).toEqual({
      connected: true,
      proto: 'tcp',
      fromPod: 'curl',
      src: '10.42.1.80',
      localPort: 53026,
      dst: '172.31.0.2',
      dport: 80,
      ms: 10,
      peerSeen: {address: '172.31.0.1', port: 53026},
      httpStatus: 200,
    })
    const t = parseProbeOutput('{"proto":"tcp","local":"10.42.1.80:43288","remote":"10.42.0.52:6379","connected":false,"error":"timed out after 1000 ms","ms":1004}', {...req, dst: '10.42.0.52', dport: 6379})
    expect(t).toMatchObject({connected: false, localPort: 43288, error: 'timed out after 1000 ms'})
    expect(t.peerSeen).toBeUndefined()
    expect(() => parseProbeOutput('nope', req)).toThrow(/unexpected output/)
  })

  it('parses the listeners\' peer log', () => {
    expect(parsePeerLog('{"proto":"tcp","peer":"172.31.0.1:41004","local":"172.31.0.2:80","at":"2026-11-22T18:06:00.000Z"}\n{"proto":"udp","peer":"172.31.0.1:45320","loc\n')).toEqual([
      {proto: 'tcp', peer: {address: '172.31.0.1', port: 41004}, local: '172.31.0.2:80', at: '2026-11-22T18:06:00.000Z'},
    ])
  })
})

describe('flowPath: the recordings of one flow in the order the packet crossed them', () => {
  const topo = labTopology('nilab-cap')
  const records = parseFlowMapDump(testdata('lab/flows-dump.json'), topo)
  const probes = JSON.parse(testdata('lab/probes.json')) as Array<ProbeResult & {kind: string}>
  const probe = (kind: string) => probes.find((p) => p.kind === kind)!
  const show = (steps: ReturnType<typeof flowPath>) => steps.map((s) => `${s.node} ${s.devname}(${s.ifindex}) ${s.hook}${s.encapsulated ? ' encap' : ''}${s.translated ? ` [${s.tuple.saddr}:${s.tuple.sport} -> ${s.tuple.daddr}:${s.tuple.dport}]` : ''}`)

  it('cross-node: node 1 lxc -> cilium_vxlan -> eth0, then node 2 XDP -> foreign tcx -> from-netdev -> from-overlay -> to-container; replies mirror it', () => {
    const flow = probeFlow(probe('pod-to-pod-cross-node'))
    expect(show(flowPath(records, flow))).toEqual([
      'node1 lxc48c4aa0637ce(43) from-container',
      'node1 cilium_vxlan(5) to-overlay',
      'node1 eth0(2) to-netdev encap',
      'node2 eth0(2) xdp encap',
      'node2 eth0(2) foreign encap',
      'node2 eth0(2) from-netdev encap',
      'node2 cilium_vxlan(5) from-overlay',
      'node2 lxc65015af813d1(29) to-container',
    ])
    expect(show(flowPath(records, flow, {direction: 'reply'}))).toEqual([
      'node2 lxc65015af813d1(29) from-container',
      'node2 cilium_vxlan(5) to-overlay',
      'node2 eth0(2) to-netdev encap',
      'node1 eth0(2) from-netdev encap',
      'node1 cilium_vxlan(5) from-overlay',
      'node1 lxc48c4aa0637ce(43) to-container',
    ])
    expect(flowPath(records, flow).every((s) => s.mark === 0 && s.packets >= 3)).toBe(true)
    expect(formatPathStep(flowPath(records, flow)[0]!)).toBe('node1 lxc48c4aa0637ce(43) from-container 10.42.1.80:41001 -> 10.42.0.51:80 mark 0x0')
  })

  it('same node: from-container, then the tail call into nginx\'s to-container', () => {
    const flow = probeFlow(probe('pod-to-pod-same-node'))
    expect(show(flowPath(records, flow))).toEqual(['node1 lxc48c4aa0637ce(43) from-container', 'node1 lxc9a1f2e8b40c7(45) to-container'])
    expect(show(flowPath(records, flow, {direction: 'reply'}))).toEqual(['node1 lxc9a1f2e8b40c7(45) from-container', 'node1 lxc48c4aa0637ce(43) to-container'])
  })

  it('Service: the ClusterIP before node 1\'s stack, the endpoint after it', () => {
    const flow = probeFlow(probe('pod-to-service'))
    expect(show(flowPath(records, flow))).toEqual(['node1 lxc48c4aa0637ce(43) from-container'])
    const steps = flowPath(records, flow, {translated: [{daddr: '10.42.0.51'}]})
    expect(show(steps).slice(0, 3)).toEqual([
      'node1 lxc48c4aa0637ce(43) from-container',
      'node1 cilium_vxlan(5) to-overlay [10.42.1.80:41003 -> 10.42.0.51:80]',
      'node1 eth0(2) to-netdev encap [10.42.1.80:41003 -> 10.42.0.51:80]',
    ])
    expect(steps.at(-1)).toMatchObject({node: 'node2', hook: 'to-container', devname: 'lxc65015af813d1', translated: true})
    // The reply leaves httpbin from 10.42.0.51 and is un-DNATed only in node 1's stack, after its hooks.
    expect(flowPath(records, flow, {direction: 'reply', translated: [{saddr: '10.42.0.51'}]}).map((s) => `${s.node} ${s.hook}`)).toEqual([
      'node2 from-container',
      'node2 to-overlay',
      'node2 to-netdev',
      'node1 from-netdev',
      'node1 from-overlay',
      'node1 to-container',
    ])
  })

  it('masquerade: the pod address at the lxc, node 1\'s eth1 address on the wire (as the listener saw it)', () => {
    const p = probe('pod-to-external-masquerade')
    expect(p.peerSeen).toEqual({address: '172.31.0.1', port: p.localPort})
    const flow = probeFlow(p)
    expect(show(flowPath(records, flow, {translated: [{saddr: p.peerSeen!.address, sport: p.peerSeen!.port}]}))).toEqual([
      'node1 lxc48c4aa0637ce(43) from-container',
      `node1 eth1(6) to-netdev [172.31.0.1:${p.localPort} -> 172.31.0.2:80]`,
    ])
    expect(show(flowPath(records, flow, {direction: 'reply', translated: [{daddr: '172.31.0.1', dport: p.peerSeen!.port}]}))).toEqual([`node1 eth1(6) from-netdev [172.31.0.2:80 -> 172.31.0.1:${p.localPort}]`])
  })

  it('mark drop: only node 1\'s from-container saw it, and nothing answered', () => {
    const flow = probeFlow(probe('pod-dropped-by-mark'))
    expect(show(flowPath(records, flow))).toEqual(['node1 lxc48c4aa0637ce(43) from-container'])
    expect(flowPath(records, flow, {direction: 'reply'})).toEqual([])
    expect(records.some((r) => r.nodeId === 2 && (r.daddr === '10.42.0.52' || r.saddr === '10.42.0.52'))).toBe(false)
  })

  it('orders hooks within a node as the datapath meets them', () => {
    expect(HOOK_PATH_ORDER).toEqual(['xdp', 'foreign', 'from-netdev', 'from-overlay', 'from-container', 'to-container', 'to-overlay', 'to-netdev'])
    expect(reverseTuple({saddr: 'a', daddr: 'b', sport: 1, dport: 2, proto: 'tcp'})).toEqual({saddr: 'b', daddr: 'a', sport: 2, dport: 1, proto: 'tcp'})
  })
})
