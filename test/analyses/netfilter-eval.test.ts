import {describe, expect, it} from 'vitest'
import {evaluateHook, type EvalContext, type HookResult, type PacketState} from '../../src/analyses/netfilter-eval.js'
import type {Hook, NftTable, XtRuleset} from '../../src/model/netfilter.js'
import {IptablesSaveParser, parseIptablesSave} from '../../src/probes/iptables-save.js'
import {deferredRules} from '../../src/model/deferred-rules.js'
import type {ParseProblem} from '../../src/model/warning.js'
import {parseNftJson} from '../../src/probes/nft-ruleset.js'
import {testdata} from '../helpers/fixtures.js'

function xt(rel: string, opts: {family?: 'ipv4' | 'ipv6'; table?: string} = {}): XtRuleset {
  const r = parseIptablesSave(testdata(rel), {family: opts.family ?? 'ipv4', backend: 'nft', ...(opts.table ? {table: opts.table} : {})})
  // The Istio capture starts with kubectl's "Defaulting debug container name…" line, which the parser reports.
  expect(r.problems.filter((p) => !/header has no|legacy backend|before the first table/.test(p.message))).toEqual([])
  return r.facts
}

function nft(rel: string): NftTable[] {
  const r = parseNftJson(testdata(rel))
  expect(r.problems).toEqual([])
  return r.facts.tables
}

const pkt = (p: Partial<PacketState> & Pick<PacketState, 'src' | 'dst'>): PacketState => ({family: 'ipv4', proto: 'tcp', sport: 40000, mark: 0, ctmark: 0, ...p})

function run(rules: {xt?: XtRuleset[]; nft?: NftTable[]; tableOrder?: string[]}, hook: Hook, p: PacketState, ctx: Partial<EvalContext> = {}): HookResult {
  return evaluateHook({xt: rules.xt ?? [], nft: rules.nft ?? [], ...(rules.tableOrder ? {tableOrder: rules.tableOrder} : {})}, {hook, localAddresses: [], ...ctx}, p)
}

/** The trail as `table/chain#position action`, the form a reviewer reads. */
const path = (r: HookResult) => r.trail.map((h) => `${h.table}/${h.chain}#${h.position} ${h.action}`)
/** The rule or policy that ended one table's base chain (decidedBy of the hook is the last table's accept). */
const by = (r: HookResult, table: string) => r.tables.find((t) => t.table === table)?.decidedBy
const tables = (r: HookResult) => r.tables.map((t) => `${t.table}/${t.chain} ${t.priority}: ${t.verdict}`)

// ------------------------------------------------------------------------------ kube-proxy (iptables)

describe('kube-proxy iptables mode (kind 1.23 capture)', () => {
  const kind = xt('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')
  const rules = {xt: [kind]}
  const local = ['172.18.0.2', '10.244.0.1']

  it('DNATs a ClusterIP through KUBE-SERVICES → KUBE-SVC (statistic) → KUBE-SEP, marking 0x4000 for a source outside the cluster CIDR', () => {
    const r = run(rules, 'prerouting', pkt({src: '172.18.0.1', dst: '10.96.0.10', dport: 53, iif: 'eth0'}), {localAddresses: local})
    expect(path(r)).toEqual([
      'mangle/PREROUTING#0 ACCEPT (policy)',
      'nat/PREROUTING#1 jump KUBE-SERVICES',
      'nat/KUBE-SERVICES#5 jump KUBE-SVC-ERIFXISQEP7F7OF4',
      'nat/KUBE-SVC-ERIFXISQEP7F7OF4#1 jump KUBE-MARK-MASQ',
      'nat/KUBE-MARK-MASQ#1 MARK --set-xmark 0x4000/0x4000',
      'nat/KUBE-SVC-ERIFXISQEP7F7OF4#2 jump KUBE-SEP-ZXMNUKOKXUTL2MK2',
      'nat/KUBE-SEP-ZXMNUKOKXUTL2MK2#2 DNAT to 10.244.0.3:53',
    ])
    expect(r.verdict).toBe('accept')
    expect(r.packet).toMatchObject({dst: '10.244.0.3', dport: 53, mark: 0x4000, ct: {dnat: true}})
    expect(r.nat).toMatchObject({kind: 'dnat', before: {addr: '10.96.0.10', port: 53}, after: {addr: '10.244.0.3', port: 53}})
    expect(r.nat?.by.line).toBe(107)
    expect(r.decidedBy?.action).toBe('DNAT to 10.244.0.3:53')
    expect(r.branches.map((b) => [b.leadsTo, b.probability, b.taken])).toEqual([
      ['KUBE-SEP-ZXMNUKOKXUTL2MK2', 0.5, true],
      ['KUBE-SEP-SF3LG62VAE5ALYDV', 0.5, false],
    ])
    expect(tables(r)).toEqual(['mangle/PREROUTING -150: ACCEPT (policy)', 'nat/PREROUTING -100: DNAT to 10.244.0.3:53'])
    expect(r.unknowns).toEqual([])
    expect(r.notes[0]).toMatch(/first packet of a new connection \(ctstate NEW/)
  })

  it('takes the other endpoint with ctx.branch 1, and leaves a pod source unmarked', () => {
    const r = run(rules, 'prerouting', pkt({src: '10.244.0.7', dst: '10.96.0.10', dport: 53, iif: 'veth1'}), {localAddresses: local, branch: 1})
    expect(r.packet).toMatchObject({dst: '10.244.0.4', mark: 0})
    expect(path(r)).not.toContain('nat/KUBE-MARK-MASQ#1 MARK --set-xmark 0x4000/0x4000')
    expect(r.branches.map((b) => b.taken)).toEqual([false, true])
  })

  it('masquerades a 0x4000-marked packet in KUBE-POSTROUTING and clears the bit with --xor-mark', () => {
    const r = run(rules, 'postrouting', pkt({src: '172.18.0.1', dst: '10.244.0.3', dport: 53, mark: 0x4000, oif: 'veth2', ct: {dnat: true}}), {localAddresses: local, masqueradeAddress: '10.244.0.1'})
    expect(path(r)).toEqual([
      'mangle/POSTROUTING#0 ACCEPT (policy)',
      'nat/POSTROUTING#1 jump KUBE-POSTROUTING',
      'nat/KUBE-POSTROUTING#2 MARK --set-xmark 0x4000/0x0',
      'nat/KUBE-POSTROUTING#3 MASQUERADE to 10.244.0.1',
    ])
    expect(r.trail[2]!.markAfter).toBe(0)
    expect(r.packet).toMatchObject({src: '10.244.0.1', sport: 40000, mark: 0, ct: {dnat: true, snat: true}})
    expect(r.nat).toMatchObject({kind: 'masquerade', before: {addr: '172.18.0.1'}, after: {addr: '10.244.0.1'}})
    expect(r.notes.join('\n')).toMatch(/random\/fully-random source ports/)
  })

  it('RETURNs from KUBE-POSTROUTING without the mark, and kindnet skips MASQUERADE for the pod CIDR', () => {
    const r = run(rules, 'postrouting', pkt({src: '10.244.0.7', dst: '10.244.0.3', dport: 53, oif: 'veth2'}), {localAddresses: local})
    expect(path(r)).toEqual([
      'mangle/POSTROUTING#0 ACCEPT (policy)',
      'nat/POSTROUTING#1 jump KUBE-POSTROUTING',
      'nat/KUBE-POSTROUTING#1 RETURN',
      'nat/POSTROUTING#3 jump KIND-MASQ-AGENT',
      'nat/KIND-MASQ-AGENT#1 RETURN',
      'nat/POSTROUTING#0 ACCEPT (policy)',
    ])
    expect(r.nat).toBeUndefined()
  })

  it('says so when MASQUERADE has no address to take', () => {
    const r = run(rules, 'postrouting', pkt({src: '10.244.0.7', dst: '8.8.8.8', dport: 53, oif: 'eth0'}), {localAddresses: local})
    expect(path(r).at(-1)).toBe('nat/KIND-MASQ-AGENT#2 MASQUERADE')
    expect(r.packet.src).toBe('10.244.0.7')
    expect(r.nat?.after.addr).toBe('<address of eth0>')
    expect(r.unknowns).toEqual([expect.stringMatching(/^iptables nat\/KIND-MASQ-AGENT #2 \(line 84\): MASQUERADE takes the address the route via eth0 prefers, which was not given/)])
  })

  it('answers the NodePort rule through addrtype LOCAL only for a local destination', () => {
    const notLocal = run(rules, 'prerouting', pkt({src: '172.18.0.1', dst: '172.18.0.9', dport: 30000, iif: 'eth0'}), {localAddresses: local})
    expect(path(notLocal)).not.toContain('nat/KUBE-SERVICES#7 jump KUBE-NODEPORTS')
    const isLocal = run(rules, 'prerouting', pkt({src: '172.18.0.1', dst: '172.18.0.2', dport: 30000, iif: 'eth0'}), {localAddresses: local})
    expect(path(isLocal)).toContain('nat/KUBE-SERVICES#7 jump KUBE-NODEPORTS')
  })
})

describe('kube-proxy with 3 endpoints, a LoadBalancer firewall and KUBE-MARK-DROP (hand-made, 1.23 layout)', () => {
  const rules = {xt: [xt('netfilter-eval/kube-proxy-3-endpoints.iptables-save')]}
  const local = ['192.168.0.10', '203.0.113.10']

  it('reports each endpoint with probability 1/3 and takes the one ctx.branch names', () => {
    const dsts = [0, 1, 2].map((branch) => {
      const r = run(rules, 'prerouting', pkt({src: '10.244.5.5', dst: '10.96.50.50', dport: 80, iif: 'cni0'}), {localAddresses: local, branch})
      expect(r.branches.map((b) => b.leadsTo)).toEqual(['KUBE-SEP-AAAAAAAAAAAAAAAA', 'KUBE-SEP-BBBBBBBBBBBBBBBB', 'KUBE-SEP-CCCCCCCCCCCCCCCC'])
      for (const b of r.branches) expect(b.probability).toBeCloseTo(1 / 3, 6)
      expect(r.branches.filter((b) => b.taken)).toHaveLength(1)
      expect(r.branches[branch]!.taken).toBe(true)
      return `${r.packet.dst}:${r.packet.dport}`
    })
    expect(dsts).toEqual(['10.244.1.11:8080', '10.244.2.12:8080', '10.244.3.13:8080'])
  })

  it('a branch beyond the alternatives takes the last and says so', () => {
    const r = run(rules, 'prerouting', pkt({src: '10.244.5.5', dst: '10.96.50.50', dport: 80, iif: 'cni0'}), {localAddresses: local, branch: 7})
    expect(r.packet.dst).toBe('10.244.3.13')
    expect(r.unknowns).toEqual([expect.stringMatching(/branch 7 asked for, but it has 3 alternatives: took the last/)])
  })

  it('marks a LoadBalancer packet from outside the source ranges 0x8000, and filter KUBE-FIREWALL drops it at input', () => {
    const pre = run(rules, 'prerouting', pkt({src: '192.0.2.50', dst: '203.0.113.10', dport: 80, iif: 'eth0'}), {localAddresses: local})
    expect(path(pre)).toEqual([
      'nat/PREROUTING#1 jump KUBE-SERVICES',
      'nat/KUBE-SERVICES#2 jump KUBE-FW-WEBSVCHTTP7LB4E',
      'nat/KUBE-FW-WEBSVCHTTP7LB4E#1 jump KUBE-MARK-MASQ',
      'nat/KUBE-MARK-MASQ#1 MARK --set-xmark 0x4000/0x4000',
      'nat/KUBE-FW-WEBSVCHTTP7LB4E#3 jump KUBE-MARK-DROP',
      'nat/KUBE-MARK-DROP#1 MARK --set-xmark 0x8000/0x8000',
      'nat/KUBE-SERVICES#3 jump KUBE-NODEPORTS',
      'nat/PREROUTING#0 ACCEPT (policy)',
    ])
    expect(pre.verdict).toBe('accept')
    expect(pre.packet.mark).toBe(0xc000)
    expect(pre.nat).toBeUndefined()
    const input = run(rules, 'input', pre.packet, {localAddresses: local})
    expect(input.verdict).toBe('drop')
    expect(input.decidedBy).toMatchObject({table: 'filter', chain: 'KUBE-FIREWALL', position: 1, action: 'DROP'})
    expect(tables(input)).toEqual(['filter/INPUT 0: DROP', 'nat/INPUT 100: not reached: drop earlier'])
  })

  it('sends a LoadBalancer packet from an allowed source range to an endpoint', () => {
    const r = run(rules, 'prerouting', pkt({src: '198.51.100.7', dst: '203.0.113.10', dport: 80, iif: 'eth0'}), {localAddresses: local, branch: 2})
    expect(r.packet).toMatchObject({dst: '10.244.3.13', dport: 8080, mark: 0x4000})
  })

  it('REJECTs a service without endpoints in filter KUBE-SERVICES', () => {
    const r = run(rules, 'forward', pkt({src: '10.244.5.5', dst: '10.96.60.60', dport: 80, iif: 'cni0', oif: 'eth0'}))
    expect(r.verdict).toBe('reject')
    expect(r.decidedBy?.action).toBe('REJECT --reject-with icmp-port-unreachable')
  })

  it('drops a martian localnet connection, unless conntrack already DNATed it (negated ctstate)', () => {
    const p = pkt({src: '192.168.0.77', dst: '127.0.0.1', dport: 10249, iif: 'eth0'})
    expect(run(rules, 'input', p).decidedBy).toMatchObject({chain: 'KUBE-FIREWALL', position: 2})
    expect(run(rules, 'input', {...p, ct: {dnat: true}}).verdict).toBe('accept')
  })

  it('ACCEPTs a 0x4000-marked packet in KUBE-FORWARD', () => {
    const r = run(rules, 'forward', pkt({src: '192.0.2.50', dst: '10.244.1.11', dport: 8080, mark: 0x4000, iif: 'eth0', oif: 'cni0'}))
    expect(r.decidedBy).toMatchObject({chain: 'KUBE-FORWARD', position: 2, action: 'ACCEPT'})
  })

  it('visits a handful of rules in a 10k-service KUBE-SERVICES (lazy destination index)', () => {
    const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', '-A PREROUTING -j KUBE-SERVICES']
    const svcs: string[] = []
    for (let i = 0; i < 10_000; i++) {
      const svc = `KUBE-SVC-${String(i).padStart(16, '0')}`
      lines.push(`:${svc} - [0:0]`)
      svcs.push(`-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -p tcp -m comment --comment "ns/svc-${i}:http cluster IP" -m tcp --dport 80 -j ${svc}`)
      svcs.push(`-A ${svc} -p tcp -j DNAT --to-destination 10.244.${i >> 8}.${i & 255}:8080`)
    }
    lines.push(...svcs, '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS', 'COMMIT', '')
    const big = parseIptablesSave(lines.join('\n'), {family: 'ipv4', backend: 'nft'}).facts
    const chain = big.tables[0]!.chains.find((c) => c.name === 'KUBE-SERVICES')!
    expect(chain.rules).toHaveLength(10_001)
    const r = run({xt: [big]}, 'prerouting', pkt({src: '10.0.0.1', dst: '10.96.39.15', dport: 80, iif: 'eth0'}))
    expect(r.packet).toMatchObject({dst: '10.244.39.15', dport: 8080})
    expect(r.rulesVisited).toBeLessThan(10)
    const miss = run({xt: [big]}, 'prerouting', pkt({src: '10.0.0.1', dst: '10.1.1.1', dport: 80, iif: 'eth0'}))
    expect(miss.rulesVisited).toBeLessThan(5)
  })

  describe('a long chain parsed lazily: indexed from its lines, only the visited rules built, the same walk as eager', () => {
    /** KUBE-SERVICES with 300 plain `-d ADDR/32` rules and every other way a line can name (or not name) a destination. */
    const dump = (extra: string[]) => {
      const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':MARKED - [0:0]', '-A PREROUTING -j KUBE-SERVICES']
      const svcs: string[] = []
      for (let i = 0; i < 300; i++) {
        const svc = `KUBE-SVC-${String(i).padStart(16, '0')}`
        lines.push(`:${svc} - [0:0]`)
        svcs.push(`-A KUBE-SERVICES -d 10.96.1.${i % 250}/32 -p tcp -m comment --comment "ns/svc-${i}:http cluster IP" -m tcp --dport ${80 + Math.floor(i / 250)} -j ${svc}`)
        svcs.push(`-A ${svc} -p tcp -j DNAT --to-destination 10.244.1.${i % 250}:${8080 + i}`)
      }
      svcs.splice(40, 0, ...extra)
      lines.push(...svcs, '-A MARKED -j MARK --set-xmark 0x1/0x1', '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS', 'COMMIT', '')
      return lines.join('\n')
    }
    const odd = [
      '-A KUBE-SERVICES -d 10.96.1.7/255.255.255.255 -p tcp -m tcp --dport 81 -j MARKED', // a mask: only the rule says it is exact
      '-A KUBE-SERVICES ! -d 10.96.1.8/32 -p tcp -m tcp --dport 82 -j MARKED',
      '-A KUBE-SERVICES -s 10.0.0.0/8 -d 10.96.1.9/32 -p tcp -m tcp --dport 83 -j MARKED',
      '-A KUBE-SERVICES ! -s 10.1.0.0/16 -d 10.96.1.10/32 -p tcp -m tcp --dport 84 -j MARKED',
      '-A KUBE-SERVICES -p tcp -d 10.96.1.11/32 -m tcp --dport 85 -j MARKED', // hand-written order: the rule says
      '-A KUBE-SERVICES -d 10.96.1.12 -p tcp -m tcp --dport 86 -j MARKED', // no prefix: a host
      '-A KUBE-SERVICES -d 10.96.1.0/24 -p tcp -m tcp --dport 87 -j MARKED',
      '-A KUBE-SERVICES -d fd00::1/128 -p tcp -j MARKED', // the other family: a problem, no destination
    ]
    const lazy = (text: string) => {
      const late: ParseProblem[] = []
      const p = new IptablesSaveParser({family: 'ipv4', backend: 'nft', lazy: {lateProblem: (x) => late.push(x)}})
      p.push(text)
      return {rs: p.end().facts, late}
    }
    const kubeServices = (rs: XtRuleset) => rs.tables[0]!.chains.find((c) => c.name === 'KUBE-SERVICES')!
    const walk = (rs: XtRuleset, dst: string, dport: number) => {
      const r = run({xt: [rs]}, 'prerouting', pkt({src: '10.0.0.1', dst, dport, iif: 'eth0'}))
      return {trail: r.trail, visited: r.rulesVisited, packet: r.packet, mark: r.packet.mark, unknowns: r.unknowns}
    }
    const flows: Array<[string, number]> = [
      ['10.96.1.3', 80], ['10.96.1.3', 81], ['10.96.1.7', 81], ['10.96.1.8', 82], ['10.96.1.9', 83], ['10.96.1.10', 84], ['10.96.1.11', 85],
      ['10.96.1.12', 86], ['10.96.1.13', 87], ['10.96.1.249', 80], ['10.1.1.1', 80],
    ]

    it('visits what the eager parse visits, flow by flow, building only some of KUBE-SERVICES', () => {
      const text = dump(odd)
      const eager = parseIptablesSave(text, {family: 'ipv4', backend: 'nft'}).facts
      expect(kubeServices(eager).rules).toHaveLength(300 + odd.length + 1)
      const l = lazy(text)
      for (const [dst, dport] of flows) expect(walk(l.rs, dst, dport), `${dst}:${dport}`).toEqual(walk(eager, dst, dport))
      // After eleven walks KUBE-SERVICES is still unread as a whole: each built only its candidates.
      const left = deferredRules(kubeServices(l.rs))
      expect(left?.count).toBe(300 + odd.length + 1)
      // Read at last, it is the eager chain: the rules built one at a time are the ones it holds, in place.
      const built = left!.ruleAt(42)
      expect(kubeServices(l.rs).rules).toEqual(kubeServices(eager).rules)
      expect(kubeServices(l.rs).rules[42]).toBe(built)
      expect(deferredRules(kubeServices(l.rs))).toBeUndefined()
      // The line of the other family was reported once, when it was built (as the eager parse reports it).
      expect(l.late.map((p) => p.line)).toEqual(parseIptablesSave(text, {family: 'ipv4', backend: 'nft'}).problems.map((p) => p.line))
      expect(l.late).toHaveLength(1)
    })

    it('reads the whole chain when a line would not tokenize (the positions after it would shift)', () => {
      const text = dump(['-A KUBE-SERVICES -d 10.96.1.5/32 -m comment --comment "unterminated -j MARKED'])
      const l = lazy(text)
      expect(deferredRules(kubeServices(l.rs))).toBeUndefined()
      const eager = parseIptablesSave(text, {family: 'ipv4', backend: 'nft'}).facts
      for (const [dst, dport] of flows) expect(walk(l.rs, dst, dport), `${dst}:${dport}`).toEqual(walk(eager, dst, dport))
    })
  })
})

describe('other real captures', () => {
  const calico = xt('fixtures/iptables-save/calico-felix-fv-cali-iptables-dump-2025.txt')

  it('Calico: FORWARD accepts a packet policy marked 0x10000/0x10000, else marks it and the policy accepts', () => {
    const marked = run({xt: [calico]}, 'forward', pkt({src: '10.65.0.2', dst: '10.65.1.3', dport: 80, mark: 0x10000, iif: 'eth0', oif: 'eth1'}))
    expect(marked.decidedBy).toMatchObject({table: 'filter', chain: 'FORWARD', position: 2, action: 'ACCEPT'})
    expect(path(marked)).toContain('filter/cali-FORWARD#1 MARK --set-xmark 0x0/0x1a0000')
    const plain = run({xt: [calico]}, 'forward', pkt({src: '10.65.0.2', dst: '10.65.1.3', dport: 80, iif: 'eth0', oif: 'eth1'}))
    expect(path(plain).slice(-2)).toEqual(['filter/FORWARD#3 MARK --set-xmark 0x10000/0x10000', 'filter/FORWARD#0 ACCEPT (policy)'])
    expect(plain.packet.mark).toBe(0x10000)
  })

  it('Calico: a workload packet to the host follows -g cali-wl-to-host and is dropped as an unknown interface', () => {
    const r = run({xt: [calico]}, 'input', pkt({src: '10.65.0.2', dst: '10.0.0.1', dport: 22, iif: 'cali1234'}), {localAddresses: ['10.0.0.1']})
    expect(path(r).slice(-4)).toEqual(['filter/INPUT#1 jump cali-INPUT', 'filter/cali-INPUT#2 goto cali-wl-to-host', 'filter/cali-wl-to-host#1 jump cali-from-wl-dispatch', 'filter/cali-from-wl-dispatch#1 DROP'])
    expect(r.verdict).toBe('drop')
  })

  it('Calico: VXLAN to a local address is dropped (multiport + addrtype LOCAL); raw rpfilter is an assumption', () => {
    const r = run({xt: [calico]}, 'input', pkt({src: '192.0.2.9', dst: '10.0.0.1', proto: 'udp', dport: 4789, iif: 'eth0'}), {localAddresses: ['10.0.0.1']})
    expect(r.decidedBy).toMatchObject({chain: 'cali-INPUT', position: 1, action: 'DROP'})
    const raw = run({xt: [calico]}, 'prerouting', pkt({src: '10.65.0.2', dst: '10.65.1.3', dport: 80, iif: 'cali1234'}))
    expect(raw.verdict).toBe('accept')
    expect(raw.unknowns).toContain('iptables raw/cali-PREROUTING #5 (line 20): -m rpfilter --invert: assumed the reverse-path check passes')
    expect(raw.trail.find((h) => h.table === 'raw' && h.position === 3)?.markAfter).toBe(0x80000)
  })

  it('Istio ambient: TPROXY is an assumption (a socket listens), REDIRECT at output goes to the loopback address', () => {
    const istio = xt('fixtures/iptables-save/istio-ambient-inpod-ztunnel-redirect.txt')
    const pre = run({xt: [istio]}, 'prerouting', pkt({src: '10.1.0.5', dst: '10.1.0.9', dport: 8080, iif: 'eth0'}))
    expect(by(pre, 'mangle')?.action).toBe('TPROXY --on-port 15006 --on-ip 0.0.0.0 --tproxy-mark 0x111/0xfff')
    expect(pre.packet.mark).toBe(0x111)
    expect(pre.unknowns).toEqual([expect.stringMatching(/TPROXY needs a socket listening on 0\.0\.0\.0:15006: assumed one is/)])
    const out = run({xt: [istio]}, 'output', pkt({src: '10.1.0.9', dst: '10.2.0.7', dport: 80, oif: 'eth0'}))
    expect(out.nat).toMatchObject({kind: 'redirect', before: {addr: '10.2.0.7', port: 80}, after: {addr: '127.0.0.1', port: 15001}})
    expect(out.decidedBy?.action).toBe('REDIRECT to 127.0.0.1:15001')
  })

  it('EKS (iptables -S nat): AWS SNAT with --random-fully, CONNMARK restore at prerouting', () => {
    const eks = xt('fixtures/iptables-save/eks-vpc-cni-sgpp-trunk-iptables-S-nat.txt', {table: 'nat'})
    const post = run({xt: [eks]}, 'postrouting', pkt({src: '172.31.9.169', dst: '52.95.110.1', dport: 443, oif: 'eth0'}), {localAddresses: ['172.31.0.225']})
    expect(post.nat).toMatchObject({kind: 'snat', after: {addr: '172.31.0.225'}})
    expect(post.decidedBy?.raw).toMatch(/^-A AWS-SNAT-CHAIN-0 ! -o vlan\+/)
    // --random-fully: the kernel picks the source port (nf_nat_l4proto_unique_tuple); the packet says so.
    expect(post.packet).toMatchObject({sport: 40000, sportRandom: true})
    const pre = run({xt: [eks]}, 'prerouting', pkt({src: '172.31.9.169', dst: '52.95.110.1', dport: 443, iif: 'eni123', ctmark: 0x80}))
    expect(path(pre)).toEqual([
      'nat/PREROUTING#1 jump KUBE-SERVICES',
      'nat/PREROUTING#2 jump AWS-CONNMARK-CHAIN-0',
      'nat/AWS-CONNMARK-CHAIN-0#2 CONNMARK --set-xmark 0x80/0x80',
      'nat/PREROUTING#3 CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
      'nat/PREROUTING#0 ACCEPT (policy)',
    ])
    expect(pre.packet.mark).toBe(0x80)
  })
})

// ------------------------------------------------------------------------------ iptables edge cases

describe('iptables semantics (hand-made edge-filter)', () => {
  const rules = {xt: [xt('netfilter-eval/edge-filter.iptables-save')]}
  const ipsets = new Map([['NI-ALLOW', {type: 'hash:net', members: ['172.16.0.0/12', '172.16.5.0/24 nomatch']}]])
  const input = (p: Partial<PacketState>, ctx: Partial<EvalContext> = {}) => run(rules, 'input', pkt({src: '10.1.3.8', dst: '10.0.0.1', dport: 80, iif: 'eth0', ...p}), {localAddresses: ['10.0.0.1'], ipsets, ...ctx})

  it('a default DROP policy decides when no rule accepts', () => {
    const r = input({dport: 81, mark: 0x100})
    expect(r.verdict).toBe('drop')
    expect(r.decidedBy).toMatchObject({table: 'filter', chain: 'INPUT', position: 0, raw: ':INPUT DROP [0:0]', action: 'DROP (policy)'})
  })

  it('RETURN from a chain reached by -g goes back to the caller of the chain that did the goto', () => {
    const r = input({src: '192.168.5.15', dport: 8081})
    expect(path(r).slice(-4)).toEqual(['filter/INPUT#5 jump NI-IN', 'filter/NI-IN#3 goto NI-TAIL', 'filter/NI-TAIL#2 RETURN', 'filter/INPUT#0 DROP (policy)'])
    // Had RETURN come back into NI-IN, its iprange rule would have accepted 192.168.5.15.
    expect(by(input({src: '192.168.5.15', dport: 81}), 'filter')).toMatchObject({chain: 'NI-IN', position: 4})
    expect(by(input({src: '192.168.5.15', dport: 8080}), 'filter')).toMatchObject({chain: 'NI-TAIL', position: 1, action: 'ACCEPT'})
  })

  it('RETURN in a built-in chain applies its policy', () => {
    const r = run(rules, 'forward', pkt({src: '10.1.1.1', dst: '10.2.2.2', iif: 'eth0', oif: 'eth9'}))
    expect(path(r).slice(-2)).toEqual(['filter/FORWARD#1 RETURN', 'filter/FORWARD#0 DROP (policy)'])
    expect(run(rules, 'forward', pkt({src: '10.1.1.1', dst: '10.2.2.2', iif: 'eth0', oif: 'eth1'})).verdict).toBe('accept')
  })

  it('negations: ! -s, non-contiguous masks, ! --dport with ! --mark', () => {
    expect(input({src: '192.0.2.1'}).decidedBy).toMatchObject({chain: 'NI-IN', position: 1, action: 'DROP'})
    const masked = input({src: '10.1.3.7'}) // 10.1.3.7 & 255.255.0.255 = 10.1.0.7
    expect(by(masked, 'filter')).toMatchObject({chain: 'NI-IN', position: 2, action: 'ACCEPT'})
    // ACCEPT ends filter only: nat INPUT (srcnat, 100) still runs, and its policy is the last accept.
    expect(masked.decidedBy).toMatchObject({table: 'nat', chain: 'INPUT', position: 0, action: 'ACCEPT (policy)'})
    const rej = input({src: '10.1.3.8'})
    expect(rej.verdict).toBe('reject')
    expect(rej.decidedBy?.action).toBe('REJECT --reject-with tcp-reset')
    expect(input({src: '10.1.3.8', dport: 23}).decidedBy?.action).toBe('DROP (policy)')
    expect(input({src: '10.1.3.8', mark: 0x100}).decidedBy?.action).toBe('DROP (policy)')
  })

  it('ipsets: a known set is looked up (most specific entry wins, nomatch excludes), an unknown one is assumed not to match', () => {
    expect(by(input({src: '172.16.1.1', dport: 81}), 'filter')).toMatchObject({chain: 'NI-IN', position: 5})
    const excluded = input({src: '172.16.5.1', dport: 81})
    expect(by(excluded, 'filter')).toMatchObject({chain: 'NI-IN', position: 12})
    expect(excluded.unknowns).toContain('iptables filter/NI-IN #6 (line 55): --match-set NI-MISSING src,dst: ipset NI-MISSING unknown (not in ipset list): assumed no match')
    const both = new Map([...ipsets, ['NI-MISSING', {type: 'hash:ip,port', members: ['10.5.5.5,tcp:80']}]])
    const withBoth = input({src: '10.5.5.5', dport: 80}, {ipsets: both})
    expect(by(withBoth, 'filter')).toMatchObject({chain: 'NI-IN', position: 6})
    expect(withBoth.unknowns).toEqual([])
    expect(by(input({src: '10.5.5.5', dport: 81}, {ipsets: both}), 'filter')).toMatchObject({chain: 'NI-IN', position: 12})
  })

  it('every match the packet cannot decide is reported with its assumption, and the fragment test assumes a whole packet', () => {
    const r = input({src: '10.1.3.8'})
    expect(r.unknowns).toEqual([
      'iptables filter/NI-IN #6 (line 55): --match-set NI-MISSING src,dst: ipset NI-MISSING unknown (not in ipset list): assumed no match',
      'iptables filter/NI-IN #9 (line 58): -m socket: which socket the packet belongs to is not known: assumed none (no match)',
      'iptables filter/NI-IN #10 (line 59): -m physdev: assumed a routed packet, not one crossing a bridge (no br_netfilter info)',
      'iptables filter/NI-IN #11 (line 60): -f: assumed not a fragment',
    ])
    const out = run(rules, 'output', pkt({src: '10.0.0.1', dst: '10.2.2.2', oif: 'eth0'}))
    expect(out.verdict).toBe('accept')
    expect(out.unknowns).toEqual(["iptables filter/OUTPUT #1 (line 49): -m owner: the sending socket's owner is not known: assumed no match"])
  })

  it('addrtype LOCAL and icmp types (an echo request unless told)', () => {
    expect(by(input({proto: 'udp', dport: 53}), 'filter')).toMatchObject({chain: 'NI-IN', position: 7})
    expect(input({proto: 'udp', dport: 53, dst: '10.0.0.2'}).decidedBy?.action).toBe('DROP (policy)')
    const ping = input({proto: 'icmp', dport: undefined, sport: undefined})
    expect(by(ping, 'filter')).toMatchObject({chain: 'NI-IN', position: 8})
    expect(ping.unknowns).toContain('iptables filter/NI-IN #8 (line 57): --icmp-type 8: the packet\'s type is not given: assumed echo-request')
    expect(input({proto: 'icmp', dport: undefined, sport: undefined, icmpType: 0}).decidedBy?.action).toBe('DROP (policy)')
  })

  it('NOTRACK in raw: the nat chains do not see the packet, and INPUT matches --ctstate UNTRACKED', () => {
    const pre = run(rules, 'prerouting', pkt({src: '192.0.2.9', dst: '10.0.0.1', proto: 'udp', dport: 4789, iif: 'eth0'}))
    expect(tables(pre)).toEqual([
      'raw/PREROUTING -300: ACCEPT (policy)',
      'mangle/PREROUTING -150: ACCEPT (policy)',
      'nat/PREROUTING -100: skipped: untracked packet (NOTRACK): the nat core only sees tracked connections',
    ])
    expect(pre.packet).toMatchObject({dst: '10.0.0.1', ct: {untracked: true}})
    expect(pre.unknowns).toEqual(['iptables raw/PREROUTING #3 (line 11): -m rpfilter --invert: assumed the reverse-path check passes'])
    const inp = run(rules, 'input', pre.packet)
    expect(by(inp, 'filter')).toMatchObject({chain: 'INPUT', position: 4, action: 'ACCEPT'})
    expect(run(rules, 'prerouting', pkt({src: '192.0.2.9', dst: '10.0.0.1', dport: 9999, iif: 'eth0'})).packet).toMatchObject({dst: '10.0.0.1', ct: {untracked: true}})
  })

  it('MARK then CONNMARK --save-mark in mangle; -i eth0 RETURNs before them', () => {
    const r = run(rules, 'prerouting', pkt({src: '10.3.3.3', dst: '10.0.0.1', dport: 443, iif: 'eth1'}))
    expect(r.trail.filter((h) => h.table === 'mangle').map((h) => [h.action, h.markAfter, h.ctmarkAfter])).toEqual([
      ['jump NI-CLASSIFY', 0, 0],
      ['MARK --set-xmark 0x100/0x100', 0x100, 0],
      ['CONNMARK --save-mark --nfmask 0x100 --ctmask 0x100', 0x100, 0x100],
      ['ACCEPT (policy)', 0x100, 0x100],
    ])
    expect(run(rules, 'prerouting', pkt({src: '10.3.3.3', dst: '10.0.0.1', dport: 443, iif: 'eth0'})).packet.mark).toBe(0)
  })

  it('DNAT to a range takes the first address and port and says the kernel picks; SNAT at postrouting', () => {
    const r = run(rules, 'prerouting', pkt({src: '10.3.3.3', dst: '10.9.9.9', dport: 80, iif: 'eth0'}))
    expect(r.nat).toMatchObject({kind: 'dnat', after: {addr: '10.0.1.1', port: 8000}})
    expect(r.unknowns.filter((u) => /picks/.test(u))).toHaveLength(2)
    const post = run(rules, 'postrouting', pkt({src: '10.3.3.3', dst: '8.8.8.8', dport: 53, oif: 'eth1'}))
    expect(post.nat).toMatchObject({kind: 'snat', before: {addr: '10.3.3.3'}, after: {addr: '192.0.2.1'}})
    expect(post.packet.src).toBe('192.0.2.1')
  })

  it('an unknown input device is an assumption, a hook without one compares an empty name', () => {
    const r = run(rules, 'input', pkt({src: '10.1.3.8', dst: '10.0.0.1', dport: 22}))
    expect(r.unknowns[0]).toBe("iptables filter/INPUT #1 (line 41): -i lo: the packet's input device is not given: assumed no match")
    expect(run(rules, 'output', pkt({src: '10.0.0.1', dst: '10.2.2.2'})).unknowns.filter((u) => u.includes('device'))).toEqual([])
  })
})

describe('families', () => {
  const v6 = xt('marks/iptables-save/edge-ipv6-ip6tables.txt', {family: 'ipv6'})
  const kind = xt('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')

  it('ip6tables rules do not see an IPv4 packet, iptables rules not an IPv6 one', () => {
    const r4 = run({xt: [v6]}, 'input', pkt({src: '10.0.0.1', dst: '10.0.0.2', iif: 'eth0'}))
    expect(r4.tables).toEqual([])
    expect(r4.verdict).toBe('accept')
    expect(r4.notes).toContain('no table has a base chain at input: the packet passes unchanged')
    const r6 = run({xt: [kind, v6]}, 'input', pkt({family: 'ipv6', src: '2001:db8::5', dst: 'fd00::1', proto: 'ipv6-icmp', sport: undefined, iif: 'eth0'}))
    expect(r6.tables.map((t) => t.engine)).toEqual(['ip6tables', 'ip6tables', 'ip6tables'])
    expect(by(r6, 'filter')).toMatchObject({engine: 'ip6tables', table: 'filter', chain: 'INPUT', position: 1, action: 'ACCEPT'})
  })

  it('IPv6 prefixes and bracketed DNAT targets', () => {
    const r = run({xt: [v6]}, 'prerouting', pkt({family: 'ipv6', src: 'fd00:10:244::5', dst: 'fd00:10:96::a', dport: 443, iif: 'eth0'}))
    expect(r.nat).toMatchObject({after: {addr: '2001:db8::1', port: 80}})
    expect(r.decidedBy?.action).toBe('DNAT to [2001:db8::1]:80')
    const post = run({xt: [v6]}, 'postrouting', pkt({family: 'ipv6', src: 'fd00:10:244::5', dst: '2001:db8::9', dport: 443, oif: 'eth0'}), {masqueradeAddress: '2001:db8::100'})
    expect(post.packet.src).toBe('2001:db8::100')
    expect(run({xt: [v6]}, 'postrouting', pkt({family: 'ipv6', src: 'fd00:10:244::5', dst: 'fd00:10:244:0:1::9', dport: 443, oif: 'eth0'})).nat).toBeUndefined()
  })
})

// ------------------------------------------------------------------------------ nft

describe('kube-proxy nftables mode (k3s capture)', () => {
  const rules = {nft: nft('marks/nft/k3s-kube-proxy-nftables-mode-table.nft.json')}
  const local = ['10.34.4.246']

  it('service-ips vmap → service chain → mark-for-masquerade → numgen → endpoint DNAT', () => {
    const r = run(rules, 'prerouting', pkt({src: '10.34.4.1', dst: '10.43.195.72', dport: 8000, iif: 'eth0'}), {localAddresses: local, branch: 2})
    expect(path(r)).toEqual([
      'ip kube-proxy/filter-prerouting#1 jump firewall-check',
      'ip kube-proxy/filter-prerouting#0 ACCEPT (policy)',
      'ip kube-proxy/nat-prerouting#1 jump services',
      'ip kube-proxy/services#1 goto service-P6J77WGM-riset/hellopod-np-svc/tcp/',
      'ip kube-proxy/service-P6J77WGM-riset/hellopod-np-svc/tcp/#1 jump mark-for-masquerade',
      'ip kube-proxy/mark-for-masquerade#1 meta mark set meta mark | 0x4000',
      'ip kube-proxy/service-P6J77WGM-riset/hellopod-np-svc/tcp/#2 goto endpoint-SRWOFVSR-riset/hellopod-np-svc/tcp/__10.42.4.202/8080',
      'ip kube-proxy/endpoint-SRWOFVSR-riset/hellopod-np-svc/tcp/__10.42.4.202/8080#2 DNAT to 10.42.4.202:8080',
    ])
    expect(r.trail[3]).toMatchObject({handle: 52, raw: 'ip daddr . meta l4proto . th dport vmap @service-ips'})
    expect(r.packet).toMatchObject({dst: '10.42.4.202', dport: 8080, mark: 0x4000})
    expect(r.branches).toHaveLength(9)
    for (const b of r.branches) expect(b.probability).toBeCloseTo(1 / 9, 9)
    expect(r.branches.filter((b) => b.taken).map((b) => b.leadsTo)).toEqual(['endpoint-SRWOFVSR-riset/hellopod-np-svc/tcp/__10.42.4.202/8080'])
    expect(tables(r)).toEqual(['ip kube-proxy/filter-prerouting -110: ACCEPT (policy)', 'ip kube-proxy/nat-prerouting -100: DNAT to 10.42.4.202:8080'])
    expect(r.unknowns).toEqual([])
  })

  it('a pod source is not marked for masquerade', () => {
    const r = run(rules, 'prerouting', pkt({src: '10.42.0.9', dst: '10.43.0.10', proto: 'udp', dport: 53, iif: 'cni0'}), {localAddresses: local})
    expect(r.packet).toMatchObject({dst: '10.42.0.171', dport: 53, mark: 0})
  })

  it('masquerading: the 0x4000 bit is cleared with ^ and the packet masqueraded; unmarked packets return', () => {
    const r = run(rules, 'postrouting', pkt({src: '10.34.4.1', dst: '10.42.4.202', dport: 8080, mark: 0x4000, oif: 'flannel.1'}), {localAddresses: local, masqueradeAddress: '10.42.0.0'})
    expect(path(r).slice(-3)).toEqual(['ip kube-proxy/nat-postrouting#1 jump masquerading', 'ip kube-proxy/masquerading#2 meta mark set meta mark ^ 0x4000', 'ip kube-proxy/masquerading#3 MASQUERADE to 10.42.0.0'])
    expect(r.packet).toMatchObject({src: '10.42.0.0', mark: 0})
    const plain = run(rules, 'postrouting', pkt({src: '10.42.0.9', dst: '10.42.4.202', dport: 8080, oif: 'flannel.1'}), {localAddresses: local})
    expect(path(plain).slice(-2)).toEqual(['ip kube-proxy/masquerading#1 RETURN', 'ip kube-proxy/nat-postrouting#0 ACCEPT (policy)'])
  })

  it('services without endpoints are rejected, unallocated ClusterIPs dropped, wrong ports of ClusterIPs rejected', () => {
    const noEp = run(rules, 'forward', pkt({src: '10.42.0.9', dst: '10.43.21.102', dport: 4317, iif: 'cni0', oif: 'eth0'}))
    expect(noEp.verdict).toBe('reject')
    expect(noEp.decidedBy).toMatchObject({chain: 'reject-chain', handle: 78, action: 'REJECT with icmp port-unreachable'})
    const unalloc = run(rules, 'forward', pkt({src: '10.42.0.9', dst: '10.43.99.99', dport: 80, iif: 'cni0', oif: 'eth0'}))
    expect(unalloc.decidedBy).toMatchObject({chain: 'cluster-ips-check', handle: 76, action: 'DROP'})
    expect(run(rules, 'forward', pkt({src: '10.42.0.9', dst: '10.43.0.1', dport: 9999, iif: 'cni0', oif: 'eth0'})).decidedBy).toMatchObject({handle: 75})
  })

  it('at output the nat chain runs before filter-output-post-dnat (-90), which then sees the endpoint, not the ClusterIP', () => {
    const r = run(rules, 'output', pkt({src: '10.34.4.246', dst: '10.43.0.1', dport: 443, oif: 'eth0'}), {localAddresses: local})
    expect(tables(r)).toEqual([
      'ip kube-proxy/filter-output -110: ACCEPT (policy)',
      'ip kube-proxy/nat-output -100: DNAT to 10.34.4.142:6443',
      'ip kube-proxy/filter-output-post-dnat -90: ACCEPT (policy)',
    ])
    expect(r.verdict).toBe('accept')
    expect(r.notes).toContain('nft ip kube-proxy/nat-output changed the mark and destination at output: the kernel routes the packet again (ip_route_me_harder), so the output device may change')
  })
})

describe('native nft forms (hand-made edge-native, listed by nft 1.0.6)', () => {
  const rules = {nft: nft('netfilter-eval/edge-native.nft.json')}
  const local = ['192.168.0.10']
  const pre = (p: Partial<PacketState>, ctx: Partial<EvalContext> = {}) => run(rules, 'prerouting', pkt({src: '10.1.1.1', dst: '10.96.0.5', dport: 85, iif: 'veth1', ...p}), {localAddresses: local, ...ctx})

  it('nat chains run inside the nat core at -100 in their own priority order; a later filter chain sees the result', () => {
    const r = pre({dst: '10.96.0.40', dport: 80})
    expect(tables(r)).toEqual([
      'inet ni-eval/pre-raw -300: ACCEPT (policy)',
      'inet ni-eval/pre -150: ACCEPT (policy)',
      'inet ni-eval/nat-pre-early -120: DNAT to 10.244.0.40:8080',
      'inet ni-eval/nat-pre-late 10: skipped: NAT already bound by nft inet ni-eval/nat-pre-early #1 (DNAT to 10.244.0.40:8080)',
      'inet ni-eval/filt-late -50: ACCEPT (policy)',
    ])
    expect(r.notes).toContain('nat chains at prerouting run inside the nat core at priority -100, ordered by their own priority (inet ni-eval/nat-pre-early -120, inet ni-eval/nat-pre-late 10); the first to bind a NAT ends the others')
  })

  it('mark set with |, an interval concat vmap jumping to a chain, a named interval set, and a later mark test', () => {
    const r = pre({})
    expect(path(r)).toEqual([
      'inet ni-eval/pre-raw#0 ACCEPT (policy)',
      'inet ni-eval/pre#1 meta mark set meta mark | 0x100',
      'inet ni-eval/pre#3 jump to-web',
      // nft stores `mark and 0xffff00ff or 0x200` with the or-ed bit in the mask as well (same result)
      'inet ni-eval/to-web#1 meta mark set meta mark & 0xffff02ff | 0x200',
      'inet ni-eval/to-web#2 RETURN',
      'inet ni-eval/pre#0 ACCEPT (policy)',
      'inet ni-eval/nat-pre-early#0 ACCEPT (policy)',
      'inet ni-eval/nat-pre-late#0 ACCEPT (policy)',
      'inet ni-eval/filt-late#1 CONTINUE (no verdict)',
      'inet ni-eval/filt-late#0 ACCEPT (policy)',
    ])
    expect(r.trail.map((h) => h.markAfter).slice(1, 4)).toEqual([0x100, 0x100, 0x200])
    expect(pre({iif: 'eth0', src: '192.168.1.5'}).trail.find((h) => h.chain === 'to-web' && h.position === 2)).toBeDefined()
  })

  it('reject from a jumped chain ends the hook; an accept only ends its base chain', () => {
    const rej = pre({src: '172.20.0.1'})
    expect(rej.verdict).toBe('reject')
    expect(rej.decidedBy).toMatchObject({chain: 'to-web', position: 3, action: 'REJECT with icmp port-unreachable'})
    expect(rej.tables.slice(2).every((t) => t.verdict === 'not reached: reject earlier')).toBe(true)
    const dns = pre({dst: '10.96.0.10', proto: 'udp', dport: 53})
    expect(dns.tables.map((t) => t.verdict)).toEqual(['ACCEPT (policy)', 'ACCEPT', 'ACCEPT (policy)', 'ACCEPT (policy)', 'ACCEPT (policy)'])
  })

  it('numgen and concatenated maps in dnat', () => {
    const r = pre({dst: '10.96.0.20', dport: 80}, {branch: 1})
    expect(r.nat?.after).toEqual({addr: '10.244.0.21', port: 80})
    expect(r.branches.map((b) => [b.leadsTo, b.probability, b.taken])).toEqual([
      ['DNAT to 10.244.0.20', 0.5, false],
      ['DNAT to 10.244.0.21', 0.5, true],
    ].map(([l, p, t]) => [String(l).replace('DNAT to ', ''), p, t]))
    expect(pre({dst: '10.96.0.30', dport: 443}).nat?.after).toEqual({addr: '10.244.0.30', port: 8443})
    // `tcp dport 8888 dnat ip to …` in an inet table: nft hides the `meta nfproto ipv4` it depends on
    expect(pre({dst: '10.7.7.7', dport: 8888}).nat?.after).toEqual({addr: '10.244.0.88', port: 8888})
    const v6 = run(rules, 'prerouting', pkt({family: 'ipv6', src: 'fd00::1', dst: 'fd00::2', dport: 8888, iif: 'eth0'}))
    expect(v6.nat).toBeUndefined()
    expect(v6.tables.find((t) => t.chain === 'nat-pre-late')?.verdict).toBe('ACCEPT (policy)')
  })

  it('fib daddr type local, and a meta key the packet cannot tell (skuid) assumed not to match', () => {
    expect(pre({dst: '192.168.0.10', dport: 9000}).decidedBy).toMatchObject({chain: 'pre', position: 4, action: 'DROP'})
    expect(pre({dst: '192.168.0.11', dport: 9000}).verdict).toBe('accept')
    const u = pre({proto: 'udp', dport: 5353, dst: '192.168.0.10'})
    expect(u.verdict).toBe('accept')
    expect(u.unknowns).toEqual(['nft inet ni-eval/pre #5 (handle 18): meta skuid 1000: meta skuid not evaluated: assumed no match'])
  })

  it('notrack in a raw-priority chain keeps the nat chains away', () => {
    const r = pre({proto: 'udp', dport: 4789, dst: '10.96.0.40'})
    expect(r.tables.filter((t) => t.verdict.startsWith('skipped')).map((t) => t.chain)).toEqual(['nat-pre-early', 'nat-pre-late'])
  })

  it('input: a ct state vmap sends NEW to a chain; a default drop policy; inet applies to both families, ip/ip6 to one', () => {
    const ok = run(rules, 'input', pkt({src: '10.1.1.1', dst: '192.168.0.10', dport: 8080, iif: 'eth0'}))
    expect(path(ok)).toContain('inet ni-eval/in#1 jump in-new')
    expect(ok.tables.map((t) => `${t.table}/${t.chain}: ${t.verdict}`)).toEqual(['inet ni-eval/in: ACCEPT', 'ip ni-eval4/in: ACCEPT (policy)'])
    expect(ok.notes.some((n) => /share priority 0: the kernel runs the one registered last first \(nf_hook_entries_grow\), which the dumps do not show/.test(n))).toBe(true)
    const drop = run(rules, 'input', pkt({src: '10.1.1.1', dst: '192.168.0.10', dport: 9999, iif: 'eth0'}))
    expect(drop.decidedBy).toMatchObject({chain: 'in', position: 0, action: 'DROP (policy)', raw: 'chain in { type filter hook input priority 0; policy drop; }'})
    const v6 = run(rules, 'input', pkt({family: 'ipv6', src: 'fe80::1', dst: 'ff02::1:ff00:1', proto: 'icmpv6', sport: undefined, icmpType: 135, iif: 'eth0'}))
    expect(v6.tables.map((t) => t.table)).toEqual(['inet ni-eval', 'ip6 ni-eval6'])
    expect(v6.verdict).toBe('accept')
    const v6drop = run(rules, 'input', pkt({family: 'ipv6', src: '2001:db8::7', dst: 'fd00::1', dport: 22, iif: 'eth0'}))
    expect(v6drop.decidedBy).toMatchObject({table: 'ip6 ni-eval6', action: 'DROP'})
  })

  it('limit is an assumption (under the rate)', () => {
    const r = run(rules, 'input', pkt({src: '10.1.1.1', dst: '192.168.0.10', proto: 'icmp', sport: undefined, iif: 'eth0'}))
    expect(r.verdict).toBe('accept')
    expect(r.unknowns).toEqual([
      'nft inet ni-eval/in-new #3 (handle 35): icmp type: not given: assumed echo-request',
      'nft inet ni-eval/in-new #3 (handle 35): limit rate 10/second: rate state is not known: assumed under the limit (match)',
    ])
  })

  it('forward: interface wildcards and ct status dnat from an earlier hook', () => {
    expect(run(rules, 'forward', pkt({src: '1.1.1.1', dst: '10.244.0.9', iif: 'eth0', oif: 'veth7'})).verdict).toBe('accept')
    expect(run(rules, 'forward', pkt({src: '1.1.1.1', dst: '10.244.0.9', iif: 'eth1', oif: 'veth7'})).verdict).toBe('drop')
    expect(run(rules, 'forward', pkt({src: '1.1.1.1', dst: '10.244.0.9', iif: 'eth1', oif: 'veth7', ct: {dnat: true}})).decidedBy).toMatchObject({chain: 'forward-filter', position: 2})
  })
})

describe('both engines at one hook', () => {
  it('iptables and nft tables interleave by priority, and a DNAT in iptables nat skips the nft nat chains', () => {
    const kind = xt('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')
    const edge = nft('netfilter-eval/edge-native.nft.json')
    const r = run({xt: [kind], nft: edge}, 'prerouting', pkt({src: '172.18.0.1', dst: '10.96.0.10', dport: 53, iif: 'eth0'}))
    expect(r.tables.map((t) => `${t.engine} ${t.table}/${t.chain}: ${t.verdict.replace(/ \(.*/, '')}`)).toEqual([
      'nft inet ni-eval/pre-raw: ACCEPT',
      'iptables mangle/PREROUTING: ACCEPT',
      'nft inet ni-eval/pre: ACCEPT',
      'nft inet ni-eval/nat-pre-early: ACCEPT',
      'iptables nat/PREROUTING: DNAT to 10.244.0.3:53',
      'nft inet ni-eval/nat-pre-late: skipped: NAT already bound by nat/KUBE-SEP-ZXMNUKOKXUTL2MK2 #2',
      'nft inet ni-eval/filt-late: ACCEPT',
    ])
    expect(r.notes.some((n) => /iptables-nft mangle\/PREROUTING and nft inet ni-eval\/pre share priority -150/.test(n))).toBe(true)
  })

  it('an iptables-nft table given both ways runs once (from iptables-save); one only in nft JSON runs natively', () => {
    const kind = xt('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')
    const calicoNft = nft('marks/nft/calico-3.30-ingress-nginx-controller-iptables-nft.nft.json')
    const r = run({xt: [kind], nft: calicoNft}, 'prerouting', pkt({src: '10.65.0.2', dst: '10.96.0.10', dport: 53, iif: 'cali1234'}))
    expect(r.notes).toContain("nft ip mangle is iptables-nft's and was read through iptables-save: not evaluated twice")
    expect(r.notes).toContain("nft ip nat is iptables-nft's and was read through iptables-save: not evaluated twice")
    expect(r.tables.map((t) => `${t.engine} ${t.table}/${t.chain}`)).toEqual(['nft ip raw/PREROUTING', 'iptables mangle/PREROUTING', 'iptables nat/PREROUTING'])
    // Calico 3.30's rpfilter as iptables-nft translates it: `fib saddr . mark . iif oif 0 drop`
    expect(r.unknowns).toContain('nft ip raw/cali-PREROUTING #5 (handle 12): fib saddr . mark . iif oif: assumed the reverse path exists (through the input device)')
    expect(r.trail.find((h) => h.handle === 10)?.markAfter).toBe(0x80000)
  })

  it('opaque xt expressions in nft JSON (iptables-nft rules nft cannot show) are unknowns, not guesses', () => {
    const r = run({nft: nft('netfilter-eval/iptables-nft-xt.nft.json')}, 'prerouting', pkt({src: '10.1.1.1', dst: '10.2.2.2', dport: 443, iif: 'eth0'}))
    expect(r.unknowns).toEqual(['nft ip mangle/PREROUTING #1 (handle 6): iptables extension match "statistic" is opaque in nft JSON (read this table through iptables-save): assumed no match'])
    expect(path(r)).toEqual(['ip mangle/PREROUTING#2 ACCEPT'])
    const udp = run({nft: nft('netfilter-eval/iptables-nft-xt.nft.json')}, 'prerouting', pkt({src: '10.1.1.1', dst: '10.2.2.2', proto: 'udp', dport: 53, iif: 'eth0'}))
    expect(udp.unknowns).toEqual(['nft ip mangle/PREROUTING #3 (handle 8): iptables extension target "TTL" is opaque in nft JSON (read this table through iptables-save): assumed no effect'])
  })

  it('says so when iptables-nft reports legacy tables and no legacy dump was given', () => {
    const text = testdata('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')
    const warned = parseIptablesSave(text, {family: 'ipv4', backend: 'nft', stderr: '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n'}).facts
    const r = run({xt: [warned]}, 'input', pkt({src: '172.18.0.1', dst: '172.18.0.2', dport: 22, iif: 'eth0'}))
    expect(r.unknowns).toContain('iptables-nft warns that iptables-legacy tables exist, and no iptables-legacy-save dump was given: their rules are not evaluated')
    const legacy = parseIptablesSave('*filter\n:INPUT DROP [0:0]\nCOMMIT\n', {family: 'ipv4', backend: 'legacy'}).facts
    const both = run({xt: [warned, legacy]}, 'input', pkt({src: '172.18.0.1', dst: '172.18.0.2', dport: 22, iif: 'eth0'}))
    expect(both.verdict).toBe('drop')
    expect(both.tables.map((t) => `${t.backend} ${t.table}: ${t.verdict}`)).toEqual(['nft mangle: ACCEPT (policy)', 'nft filter: ACCEPT (policy)', 'legacy filter: DROP (policy)', 'nft nat: not reached: drop earlier'])
    expect(both.notes.some((n) => n.startsWith('iptables-nft filter/INPUT and iptables-legacy filter/INPUT share priority 0'))).toBe(true)
  })

  it('chains of equal priority run the later-made table first (nf_hook_entries_grow), when nft listed the tables', () => {
    const kind = xt('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')
    const edge = nft('netfilter-eval/edge-native.nft.json')
    const order = (tableOrder: string[]) => run({xt: [kind], nft: edge, tableOrder}, 'prerouting', pkt({src: '172.18.0.1', dst: '10.96.0.10', dport: 53, iif: 'eth0'}))
    const mangleFirst = (r: ReturnType<typeof order>) => r.tables.map((t) => `${t.table}/${t.chain}`).filter((c) => c === 'mangle/PREROUTING' || c === 'inet ni-eval/pre')
    // ni-eval made after iptables-nft's mangle: it registered last, so it runs first at -150.
    const later = order(['ip mangle', 'ip nat', 'ip filter', 'inet ni-eval'])
    expect(mangleFirst(later)).toEqual(['inet ni-eval/pre', 'mangle/PREROUTING'])
    expect(later.notes.some((n) => n.startsWith("nft inet ni-eval/pre and iptables-nft mangle/PREROUTING share priority -150: the kernel runs the one registered last first (nf_hook_entries_grow); nft inet ni-eval/pre's table was made later"))).toBe(true)
    const earlier = order(['inet ni-eval', 'ip mangle', 'ip nat', 'ip filter'])
    expect(mangleFirst(earlier)).toEqual(['mangle/PREROUTING', 'inet ni-eval/pre'])
  })

  it('a drop in an early table ends the hook for every later one', () => {
    const edge = nft('netfilter-eval/edge-native.nft.json')
    const kind = xt('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')
    const r = run({xt: [kind], nft: edge}, 'prerouting', pkt({src: '10.1.1.1', dst: '192.168.0.10', dport: 9000, iif: 'eth0'}), {localAddresses: ['192.168.0.10']})
    expect(r.verdict).toBe('drop')
    expect(r.tables.filter((t) => t.verdict.startsWith('not reached')).map((t) => `${t.engine} ${t.table}`)).toEqual(['nft inet ni-eval', 'iptables nat', 'nft inet ni-eval', 'nft inet ni-eval'])
  })
})
