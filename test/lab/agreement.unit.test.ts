// The agreement harness's own parsers and comparison (test/support/kernel-path.ts, agreement.ts) on verbatim
// `nft monitor trace` captures of the lab (testdata/lab/agreement/, NODEINSPECT_AGREEMENT_CAPTURE): the packets
// told apart, the decisions read, the hook views, and a comparison that fails on a wrong mark, ct state, device or
// decision order.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import type {PathStep} from '../../src/model/path.js'
import {comparePacket, predictedPacket} from '../support/agreement.js'
import {kernelPathRuleset, observedPackets, ruleDecision} from '../support/kernel-path.js'
import {parseNftMonitorTrace} from '../support/nft-trace.js'

const capture = (name: string) => {
  const text = readFileSync(new URL(`../../testdata/lab/agreement/${name}`, import.meta.url), 'utf8')
  const own = /ip (nilab_trace_\d+_\d+) set_/.exec(text)![1]!
  return {events: parseNftMonitorTrace(text), own}
}

describe('kernelPathRuleset', () => {
  it('sets nftrace on TCP and UDP at raw priority and observes every hook after every table', () => {
    const r = kernelPathRuleset('t1')
    expect(r).toContain('chain set_pre { type filter hook prerouting priority -350; policy accept; meta l4proto { tcp, udp } meta nftrace set 1; }')
    expect(r).toContain('chain set_out { type filter hook output priority -350;')
    for (const hook of ['prerouting', 'input', 'forward', 'output', 'postrouting']) expect(r).toContain(`chain obs_${hook} { type filter hook ${hook} priority 1000; policy accept; ct state new; ct state established; ct state related; ct state untracked; ct state invalid; }`)
  })
})

describe('ruleDecision', () => {
  it('reads statements, not chain names', () => {
    expect(ruleDecision('ip daddr 10.96.0.80 tcp dport 80 jump mark-for-masquerade', 'jump mark-for-masquerade')).toBeUndefined()
    expect(ruleDecision('masquerade fully-random', 'accept')).toBe('nat')
    expect(ruleDecision('meta l4proto tcp dnat to 10.244.2.7:80', 'accept')).toBe('nat')
    expect(ruleDecision('meta mark set meta mark | 0x00004000', 'continue')).toBe('mark')
    expect(ruleDecision('udp dport 8472 counter packets 3 bytes 1 notrack', 'continue')).toBe('notrack')
    expect(ruleDecision('ip saddr 10.244.0.0/16 counter packets 0 bytes 0 accept', 'accept')).toBe('accept')
    expect(ruleDecision('meta mark & 0x00004000 == 0x00000000 return', 'return')).toBeUndefined()
  })
})

describe('observedPackets on nft-kube-proxy pod-to-service-tcp, node 1', () => {
  const {events, own} = capture('nft-kube-proxy-pod-to-service-tcp-node1.txt')
  const packets = observedPackets(events, own, new Set([8472]))
  const syn = packets.find((p) => !p.outer && p.first.tcpFlags === 'syn')!
  const synOuter = packets.find((p) => p.outer && p.first.saddr === '192.168.1.12')!

  it('tells the inner SYN from its outer VXLAN packet', () => {
    expect(syn.first).toMatchObject({saddr: '10.244.1.2', daddr: '10.96.0.80', dport: 80, iif: 'cni0'})
    expect(synOuter.first).toMatchObject({daddr: '192.168.1.13', proto: 'udp', dport: 8472})
    expect(syn.events.every((e) => !e.packet || e.packet.proto === 'tcp')).toBe(true)
    expect(synOuter.events.every((e) => !e.packet || e.packet.dport === 8472)).toBe(true)
  })

  it("reads the kube-proxy table's decisions in the kernel's order", () => {
    expect(syn.decisions.map((d) => `${d.table}/${d.chain} ${d.what}`)).toEqual([
      'kube-proxy/mark-for-masquerade mark',
      'kube-proxy/endpoint-IOJMKVPI-default/httpbin/tcp/http__10.244.2.7/80 nat',
      'filter/FLANNEL-FWD accept',
      'kube-proxy/masquerading mark',
      'kube-proxy/masquerading nat',
    ])
  })

  it('sees the mark and conntrack state after each hook, and the devices', () => {
    expect(syn.hooks).toEqual([
      {hook: 'prerouting', mark: 0x4000, ct: 'NEW', iif: 'cni0'},
      {hook: 'forward', mark: 0x4000, ct: 'NEW', iif: 'cni0', oif: 'flannel.1'},
      {hook: 'postrouting', mark: 0, ct: 'NEW', iif: 'cni0', oif: 'flannel.1'},
    ])
    expect(synOuter.hooks.map((h) => `${h.hook} ${h.ct} ${h.oif}`)).toEqual(['output NEW eth0', 'postrouting NEW eth0'])
  })

  // The prediction as trace --json makes it for that packet, reduced to what the comparison reads.
  const step = (hook: string, over: Partial<PathStep>): PathStep =>
    ({n: 0, node: 'n1', where: {hook: `netfilter ${hook}`}, kind: 'netfilter', what: '', verdict: '', verdictKind: 'accept', tuple: {src: '', dst: '', proto: 'tcp'}, mark: 0, evidence: 'rule', details: [], ...over}) as PathStep
  const predicted: PathStep[] = [
    step('prerouting', {where: {hook: 'netfilter prerouting', device: 'cni0'}, mark: 0x4000, ct: {state: 'NEW', zone: 0, mark: 0}, tables: [{engine: 'nft', table: 'ip kube-proxy', chain: 'nat-prerouting', priority: -100, verdict: 'DNAT'}], rules: [
      {engine: 'nft', table: 'ip kube-proxy', chain: 'mark-for-masquerade', position: 1, raw: '', action: 'mark set 0x4000'},
      {engine: 'nft', table: 'ip kube-proxy', chain: 'endpoint-IOJMKVPI-default/httpbin/tcp/http__10.244.2.7/80', position: 2, raw: '', action: 'dnat to 10.244.2.7:80'},
    ]} as Partial<PathStep>),
    step('forward', {mark: 0x4000, ct: {state: 'NEW', zone: 0, mark: 0}, tables: [{engine: 'iptables', table: 'filter', chain: 'FORWARD', priority: 0, verdict: 'ACCEPT'}], rules: [{engine: 'iptables', table: 'filter', chain: 'FLANNEL-FWD', position: 1, raw: '', action: 'ACCEPT'}]} as Partial<PathStep>),
    step('postrouting', {where: {hook: 'netfilter postrouting', device: 'flannel.1'}, mark: 0, ct: {state: 'NEW', zone: 0, mark: 0}, tables: [{engine: 'nft', table: 'ip kube-proxy', chain: 'nat-postrouting', priority: 100, verdict: 'MASQUERADE'}], rules: [
      {engine: 'nft', table: 'ip kube-proxy', chain: 'masquerading', position: 2, raw: '', action: 'mark set 0x0'},
      {engine: 'nft', table: 'ip kube-proxy', chain: 'masquerading', position: 3, raw: '', action: 'masquerade fully-random'},
    ]} as Partial<PathStep>),
  ]

  it('agrees with the right prediction', () => {
    expect(comparePacket('syn', predictedPacket(predicted, 'n1', false), syn).mismatches).toEqual([])
  })

  it('fails on a wrong mark, conntrack state, output device or decision', () => {
    const wrong = (i: number, over: Partial<PathStep>) => predicted.map((s, j) => (j === i ? {...s, ...over} : s))
    expect(comparePacket('syn', predictedPacket(wrong(1, {mark: 0}), 'n1', false), syn).mismatches).toHaveLength(1)
    expect(comparePacket('syn', predictedPacket(wrong(0, {ct: {state: 'UNTRACKED', zone: 0, mark: 0}}), 'n1', false), syn).mismatches).toHaveLength(1)
    expect(comparePacket('syn', predictedPacket(wrong(2, {where: {hook: 'netfilter postrouting', device: 'eth0'}}), 'n1', false), syn).mismatches[0]).toMatch(/hooks differ/)
    expect(comparePacket('syn', predictedPacket(wrong(1, {rules: []}), 'n1', false), syn).mismatches[0]).toMatch(/decisions differ/)
    // A packet the kernel never showed is a mismatch too.
    expect(comparePacket('syn', predictedPacket(predicted, 'n1', false), undefined).mismatches).toHaveLength(2)
  })
})

describe('observedPackets with br_netfilter', () => {
  it('keeps one packet whose trace id changes when the bridge passes it up (nft_trace_init hashes skb_iif)', () => {
    const {events, own} = capture('br-netfilter-pod-to-pod-cross-node-node1.txt')
    const syn = observedPackets(events, own, new Set([8472])).find((p) => !p.outer && p.first.tcpFlags === 'syn')!
    expect(new Set(syn.events.map((e) => e.id)).size).toBe(2)
    expect(syn.hooks.map((h) => h.hook)).toEqual(['prerouting', 'forward', 'postrouting'])
    expect(syn.decisions.map((d) => `${d.table}/${d.chain} ${d.what}`)).toEqual(['nat/PREROUTING policy accept', 'filter/FLANNEL-FWD accept', 'nat/POSTROUTING policy accept'])
  })
})
