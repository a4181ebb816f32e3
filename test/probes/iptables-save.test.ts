import {afterAll, describe, expect, it} from 'vitest'
import {applyMarkOp, type MarkOp} from '../../src/model/mark.js'
import {xtChainReachability} from '../../src/model/chain-graph.js'
import {xtRuleMarkUses, type XtRule, type XtRuleset} from '../../src/model/netfilter.js'
import {
  collectIptablesLegacySave,
  collectIptablesSave,
  hasLegacyTablesWarning,
  IPTABLES_LEGACY_SAVE_ARGV,
  IPTABLES_SAVE_ARGV,
  parseIptablesSave,
  parseIptablesSaveForMarks,
  type IptablesSaveOptions,
} from '../../src/probes/iptables-save.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'
import {fixtures, ROOT, stableJson, testdata} from '../helpers/fixtures.js'
import {createTestNetns, liveSkipReason, type TestNetns} from './netns-helpers.js'

const MARKS = `${ROOT}testdata/marks/iptables-save`

/** How each published capture is read, and the problems it is expected to produce (none unless listed). */
const FIXTURES: Record<string, {opts: IptablesSaveOptions; problems?: Array<{line: number; message: RegExp}>}> = {
  // "iptables-save v1.8.4" without "(nf_tables)": the legacy backend (SOURCES.md).
  'calico-felix-fv-cali-iptables-dump-2025.txt': {opts: {family: 'ipv4', backend: 'legacy'}},
  // No header at all: the backend is unknown, the option only labels the result.
  'cilium-kube-proxy-ipvs-docker-filter-2022.txt': {opts: {family: 'ipv4', backend: 'nft'}},
  // `iptables -S -t nat`: the table comes from the caller.
  'eks-vpc-cni-sgpp-trunk-iptables-S-nat.txt': {opts: {family: 'ipv4', backend: 'nft', table: 'nat'}},
  // kubectl's "Defaulting debug container name …" before the dump is reported, the dump itself is clean.
  'istio-ambient-inpod-ztunnel-redirect.txt': {opts: {family: 'ipv4', backend: 'nft'}, problems: [{line: 1, message: /ignored line before the first table/}]},
  'kind-1.23-kube-proxy-kindnet-traefik.txt': {opts: {family: 'ipv4', backend: 'legacy'}},
}

const EDGE: Record<string, IptablesSaveOptions> = {
  'edge-ipv4-every-operation.txt': {family: 'ipv4', backend: 'nft'},
  'edge-ipv6-ip6tables.txt': {family: 'ipv6', backend: 'nft'},
}

function rules(rs: XtRuleset): XtRule[] {
  return rs.tables.flatMap((t) => t.chains.flatMap((c) => c.rules))
}

function ruleMatching(rs: XtRuleset, needle: string): XtRule {
  const found = rules(rs).filter((r) => r.raw.includes(needle))
  if (found.length !== 1) throw new Error(`${found.length} rules contain ${needle}`)
  return found[0]!
}

describe('parseIptablesSave on real captures', () => {
  const all = fixtures('iptables-save')
  it('covers every capture in testdata/fixtures/iptables-save', () => {
    expect(all.map((f) => f.name).sort()).toEqual(Object.keys(FIXTURES).sort())
  })
  for (const f of all) {
    it(f.name, async () => {
      const spec = FIXTURES[f.name]!
      const parsed = parseIptablesSave(f.text, spec.opts)
      expect(parsed.problems.map((p) => ({line: p.line, message: p.message}))).toEqual((spec.problems ?? []).map((p) => ({line: p.line, message: expect.stringMatching(p.message)})))
      // nothing fell through to "other" or stayed uninterpreted in these captures
      for (const r of rules(parsed.facts)) {
        for (const m of r.matches) {
          expect(m.kind, r.raw).not.toBe('other')
          expect('uninterpreted' in m ? m.uninterpreted : undefined, r.raw).toBeUndefined()
        }
        expect(r.target?.kind, r.raw).not.toBe('other')
        expect(r.target?.uninterpreted, r.raw).toBeUndefined()
      }
      await expect(stableJson(parsed)).toMatchFileSnapshot(`${MARKS}/${f.name}.golden.json`)
    })
  }

  it('kind: kube-proxy masquerade marks, xor clear and statistic', () => {
    const rs = parseIptablesSave(testdata('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt'), FIXTURES['kind-1.23-kube-proxy-kindnet-traefik.txt']!.opts).facts
    expect(rs.generatedBy).toBe('iptables-save v1.8.4')
    expect(rs.tables.map((t) => [t.name, t.committed, t.line])).toEqual([
      ['mangle', true, 2],
      ['filter', true, 14],
      ['nat', true, 42],
    ])
    const masq = ruleMatching(rs, '-A KUBE-MARK-MASQ -j MARK')
    expect(masq.target).toMatchObject({kind: 'mark', op: {kind: 'set-xmark', target: 'packet', value: 0x4000, mask: 0x4000}})
    const clear = ruleMatching(rs, '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0')
    // --set-xmark 0x4000/0x0 is kube-proxy's "xor-mark 0x4000": it flips the bit the previous rule proved set
    const op = (clear.target as {op: MarkOp}).op
    expect(applyMarkOp(op, {packet: 0x4000 | 0x80, conntrack: 0}).packet).toBe(0x80)
    const ret = ruleMatching(rs, '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN')
    expect(ret.matches).toEqual([{module: 'mark', kind: 'mark', negated: true, mark: {value: 0x4000, mask: 0x4000}}])
    const stat = ruleMatching(rs, '-j KUBE-SEP-ZXMNUKOKXUTL2MK2')
    expect(stat.matches[1]).toMatchObject({kind: 'statistic', mode: 'random', probability: 0.5})
    expect(stat.position).toBe(2)
    const chain = rs.tables[2]!.chains.find((c) => c.name === 'POSTROUTING')!
    expect(chain).toMatchObject({builtin: true, policy: 'ACCEPT', hook: 'postrouting', priority: 100, counters: {packets: 26, bytes: 1560}})
  })

  it('istio: connmark restore with full masks, TPROXY mark, negated mark match', () => {
    const rs = parseIptablesSave(testdata('fixtures/iptables-save/istio-ambient-inpod-ztunnel-redirect.txt'), {family: 'ipv4', backend: 'nft'}).facts
    expect(rs.generatedBy).toBe('iptables-save')
    const restore = ruleMatching(rs, '--restore-mark')
    expect(restore.target).toMatchObject({kind: 'connmark', op: {kind: 'restore', nfmask: 0xffffffff, ctmask: 0xffffffff}})
    expect(restore.matches[0]).toMatchObject({kind: 'connmark', negated: false, mark: {value: 0x111, mask: 0xfff}})
    const tp = ruleMatching(rs, '--dport 15008 -m mark')
    expect(tp.target).toMatchObject({kind: 'tproxy', onPort: 15008, onIp: '0.0.0.0', mark: {value: 0x111, mask: 0xfff}})
    expect(xtRuleMarkUses(tp)).toEqual([
      {role: 'match', on: 'packet', negated: true, mark: {value: 0x539, mask: 0xfff}, via: '-m mark'},
      {role: 'write', op: {kind: 'set-xmark', target: 'packet', value: 0x111, mask: 0xfff}, via: '-j TPROXY'},
    ])
    const redirect = ruleMatching(rs, 'REDIRECT')
    expect(redirect.target).toMatchObject({kind: 'redirect', toPorts: {from: 15001, to: 15001}, random: false})
    expect(redirect.matches[0]).toEqual({kind: 'destination', negated: true, address: {address: '127.0.0.1', prefixLen: 32}})
  })

  it('eks iptables -S: CONNMARK restore with nfmask/ctmask 0x80, SNAT --random-fully, `! -o vlan+`', () => {
    const rs = parseIptablesSave(testdata('fixtures/iptables-save/eks-vpc-cni-sgpp-trunk-iptables-S-nat.txt'), {family: 'ipv4', backend: 'nft', table: 'nat'}).facts
    expect(rs.format).toBe('rule-spec')
    expect(rs.tables).toHaveLength(1)
    const t = rs.tables[0]!
    expect(t.chains.filter((c) => c.builtin).map((c) => [c.name, c.policy, c.hook])).toEqual([
      ['PREROUTING', 'ACCEPT', 'prerouting'],
      ['INPUT', 'ACCEPT', 'input'],
      ['OUTPUT', 'ACCEPT', 'output'],
      ['POSTROUTING', 'ACCEPT', 'postrouting'],
    ])
    expect(ruleMatching(rs, '--restore-mark').target).toMatchObject({kind: 'connmark', op: {kind: 'restore', nfmask: 0x80, ctmask: 0x80}})
    expect(ruleMatching(rs, 'CONNMARK --set-xmark 0x80/0x80').target).toMatchObject({op: {kind: 'set-xmark', target: 'conntrack', value: 0x80, mask: 0x80}})
    const snat = ruleMatching(rs, '-j SNAT')
    expect(snat.matches[0]).toEqual({kind: 'out-interface', negated: true, iface: {name: 'vlan', wildcard: true}})
    expect(snat.target).toMatchObject({kind: 'snat', randomFully: true, to: {addressFrom: '172.31.0.225', addressTo: '172.31.0.225'}})
    expect(ruleMatching(rs, '-j SNAT').matches[2]).toMatchObject({kind: 'addrtype', dstType: {negated: true, values: ['LOCAL']}})
  })

  it('eks iptables -S without a table option: still read, with a clear problem on line 1', () => {
    const p = parseIptablesSave(testdata('fixtures/iptables-save/eks-vpc-cni-sgpp-trunk-iptables-S-nat.txt'), {family: 'ipv4', backend: 'nft'})
    expect(p.problems).toEqual([expect.objectContaining({line: 1, message: expect.stringContaining('iptables -S output has no table name')})])
    expect(p.facts.tables[0]!.name).toBe('unknown')
    expect(p.facts.tables[0]!.chains.find((c) => c.name === 'POSTROUTING')!.hook).toBe('postrouting')
  })

  it('calico: two comments, rpfilter --validmark --invert, two addrtype matches, clear masks, goto', () => {
    const rs = parseIptablesSave(testdata('fixtures/iptables-save/calico-felix-fv-cali-iptables-dump-2025.txt'), {family: 'ipv4', backend: 'legacy'}).facts
    expect(rs.tables.map((t) => t.name)).toEqual(['raw', 'nat', 'filter', 'mangle'])
    expect(ruleMatching(rs, 'cali:S93hcgKJrXEqnTfs').comments).toEqual(['cali:S93hcgKJrXEqnTfs', 'Policy explicitly accepted packet.'])
    expect(ruleMatching(rs, '--validmark').matches[2]).toMatchObject({kind: 'rpfilter', validmark: true, invert: true, loose: false})
    const masq = ruleMatching(rs, 'cali:e9dnSgSVNmIcpVhP')
    expect(masq.matches.filter((m) => m.kind === 'addrtype')).toMatchObject([
      {srcType: {negated: true, values: ['LOCAL']}, limitIfaceOut: true},
      {srcType: {negated: false, values: ['LOCAL']}, limitIfaceOut: false},
    ])
    expect(ruleMatching(rs, 'cali:W_vvds1Nw3n9QE2f').target).toMatchObject({op: {kind: 'set-xmark', value: 0, mask: 0x1a0000}})
    expect(ruleMatching(rs, 'cali:H03xYXARh4e8pwd4').target).toMatchObject({kind: 'goto', chain: 'cali-wl-to-host'})
    expect(ruleMatching(rs, 'cali:EDCNTTxYfggApx8C').matches).toContainEqual(expect.objectContaining({kind: 'multiport', dports: {negated: false, ranges: [{from: 4789, to: 4789}]}}))
  })

  it('cilium: no header, masks like 0xa00/0xfffffeff, three negated mark matches, REJECT --reject-with', () => {
    const rs = parseIptablesSave(testdata('fixtures/iptables-save/cilium-kube-proxy-ipvs-docker-filter-2022.txt'), {family: 'ipv4', backend: 'nft'}).facts
    expect(rs.generatedBy).toBeUndefined()
    const r = ruleMatching(rs, 'host->any mark as from host')
    expect(xtRuleMarkUses(r).map((u) => (u.role === 'match' ? [u.negated, u.mark] : u.role))).toEqual([
      [true, {value: 0xe00, mask: 0xf00}],
      [true, {value: 0xd00, mask: 0xf00}],
      [true, {value: 0xa00, mask: 0xe00}],
      'write',
    ])
    expect(ruleMatching(rs, 'proxy return traffic').matches[0]).toMatchObject({mark: {value: 0xa00, mask: 0xfffffeff}})
    expect(rules(rs).filter((x) => x.target?.kind === 'reject').every((x) => x.target?.kind === 'reject' && x.target.rejectWith === 'icmp-port-unreachable')).toBe(true)
  })
})

describe('parseIptablesSave on hand-written edge cases (testdata/marks/iptables-save)', () => {
  for (const [name, opts] of Object.entries(EDGE)) {
    it(`${name} (golden)`, async () => {
      const parsed = parseIptablesSave(testdata(`marks/iptables-save/${name}`), opts)
      expect(parsed.problems).toEqual([])
      await expect(stableJson(parsed)).toMatchFileSnapshot(`${MARKS}/${name}.golden.json`)
    })
  }

  const rs = parseIptablesSave(testdata('marks/iptables-save/edge-ipv4-every-operation.txt'), EDGE['edge-ipv4-every-operation.txt']!).facts

  it.each([
    ['MARK --set-xmark 0x10/0xf0', {kind: 'set-xmark', target: 'packet', value: 0x10, mask: 0xf0}],
    ['MARK --set-xmark 0x4000/0x4000', {kind: 'set-xmark', target: 'packet', value: 0x4000, mask: 0x4000}],
    ['MARK --set-xmark 0x0/0xffff0000', {kind: 'set-xmark', target: 'packet', value: 0, mask: 0xffff0000}],
    ['MARK --set-xmark 0x5/0xffffffff', {kind: 'set-xmark', target: 'packet', value: 5, mask: 0xffffffff}],
    ['MARK --set-mark 1337', {kind: 'set', target: 'packet', value: 1337}],
    ['MARK --set-mark 0x200/0xf00', {kind: 'set-mark', target: 'packet', value: 0x200, mask: 0xf00}],
    ['MARK --and-mark 0xffff', {kind: 'and', target: 'packet', value: 0xffff}],
    ['MARK --or-mark 0x4000', {kind: 'or', target: 'packet', value: 0x4000}],
    ['MARK --xor-mark 0x1', {kind: 'xor', target: 'packet', value: 1}],
    ['CONNMARK --save-mark --nfmask 0xff --ctmask 0xff', {kind: 'save', nfmask: 0xff, ctmask: 0xff}],
    ['CONNMARK --save-mark --mask 0x80', {kind: 'save', nfmask: 0x80, ctmask: 0x80}],
    ['CONNMARK --restore-mark --nfmask 0xffffffff', {kind: 'restore', nfmask: 0xffffffff, ctmask: 0xffffffff}],
    ['CONNMARK --restore-mark\n', {kind: 'restore', nfmask: 0xffffffff, ctmask: 0xffffffff}],
    ['CONNMARK --set-xmark 0x111/0xfff', {kind: 'set-xmark', target: 'conntrack', value: 0x111, mask: 0xfff}],
    ['--right-shift-mark 8', {kind: 'save', nfmask: 0xff00, ctmask: 0xff, shift: {dir: 'right', bits: 8}}],
  ])('%s', (needle, op) => {
    const n = needle.endsWith('\n') ? needle.trim() : needle
    const r = rules(rs).filter((x) => (needle.endsWith('\n') ? x.raw.endsWith(n) : x.raw.includes(n)))
    expect(r).toHaveLength(1)
    expect((r[0]!.target as {op: MarkOp}).op).toEqual(op)
  })

  it('mark matches: masked, negated, decimal without mask, connmark', () => {
    expect(ruleMatching(rs, '--mark 0x4000/0x4000 -j ACCEPT').matches[0]).toMatchObject({kind: 'mark', negated: false, mark: {value: 0x4000, mask: 0x4000}})
    expect(ruleMatching(rs, '! --mark 0x539/0xfff').matches[0]).toMatchObject({kind: 'mark', negated: true, mark: {value: 0x539, mask: 0xfff}})
    expect(ruleMatching(rs, '--mark 1337 -j').matches[0]).toMatchObject({kind: 'mark', negated: false, mark: {value: 1337, mask: 0xffffffff}})
    expect(ruleMatching(rs, '-m connmark ! --mark 0x5').matches[0]).toMatchObject({kind: 'connmark', negated: true, mark: {value: 5, mask: 0xffffffff}})
  })

  it('quotes: escaped double quote, escaped single quote, escaped backslash', () => {
    expect(ruleMatching(rs, 'quoted').comments).toEqual(['a "quoted" word'])
    expect(ruleMatching(rs, 'slash').comments).toEqual(["it's x", 'back\\slash'])
  })

  it('socket --restore-skmark, TPROXY without mask, rpfilter flags, physdev, nth, unknown module and target kept', () => {
    const sock = ruleMatching(rs, '--restore-skmark')
    expect(sock.matches[1]).toMatchObject({kind: 'socket', transparent: true, nowildcard: true, restoreSkmark: true})
    expect(xtRuleMarkUses(sock)).toEqual([{role: 'write', op: {kind: 'from-socket'}, via: '-m socket --restore-skmark'}])
    expect(ruleMatching(rs, '--tproxy-mark 0x2baa0200').target).toMatchObject({kind: 'tproxy', onPort: 53, mark: {value: 0x2baa0200, mask: 0xffffffff}})
    expect(ruleMatching(rs, '-m rpfilter').matches[0]).toMatchObject({kind: 'rpfilter', loose: true, validmark: true, acceptLocal: true, invert: true})
    expect(ruleMatching(rs, '-m physdev').matches[0]).toMatchObject({kind: 'physdev', physdevIn: {negated: false, iface: {name: 'veth', wildcard: true}}, isBridged: {negated: true}})
    expect(ruleMatching(rs, '--mode nth').matches[0]).toMatchObject({kind: 'statistic', mode: 'nth', every: 3, packet: 1, negated: false})
    expect(ruleMatching(rs, 'hashlimit').matches[0]).toEqual({
      module: 'hashlimit',
      kind: 'other',
      options: [
        {name: 'hashlimit-upto', negated: false, values: ['5/sec']},
        {name: 'hashlimit-name', negated: false, values: ['ni']},
      ],
    })
    expect(ruleMatching(rs, 'CLASSIFY').target).toEqual({name: 'CLASSIFY', kind: 'other', options: [{name: 'set-class', negated: false, values: ['1:10']}]})
  })

  it('nat: REDIRECT, MASQUERADE port range, SNAT range, DNAT range and port-only, goto, multiport negation, open port range, implicit -p module', () => {
    expect(ruleMatching(rs, 'MASQUERADE --to-ports').target).toMatchObject({kind: 'masquerade', toPorts: {from: 1000, to: 2000}, random: true, randomFully: false})
    expect(ruleMatching(rs, '1.2.3.4-1.2.3.8').target).toMatchObject({kind: 'snat', persistent: true, to: {addressFrom: '1.2.3.4', addressTo: '1.2.3.8', ports: {from: 1024, to: 65535}}})
    expect(ruleMatching(rs, '10.0.0.1-10.0.0.5').target).toMatchObject({kind: 'dnat', random: true, persistent: true, to: {addressFrom: '10.0.0.1', addressTo: '10.0.0.5', ports: {from: 1000, to: 2000}}})
    expect(ruleMatching(rs, '--to-destination :8080').target).toMatchObject({kind: 'dnat', to: {ports: {from: 8080, to: 8080}}})
    expect(ruleMatching(rs, '0.33333333349').target).toMatchObject({kind: 'goto', chain: 'NI-SEP'})
    expect(ruleMatching(rs, '-m multiport').matches[1]).toMatchObject({kind: 'multiport', dports: {negated: true, ranges: [{from: 80, to: 80}, {from: 443, to: 443}, {from: 1000, to: 2000}]}})
    expect(ruleMatching(rs, '--tcp-flags').matches[1]).toMatchObject({kind: 'ports', sport: {ranges: [{from: 1, to: 1024}]}, dport: {ranges: [{from: 8080, to: 65535}]}, tcpFlags: {negated: false, mask: ['SYN', 'ACK'], compare: ['SYN']}})
    expect(ruleMatching(rs, '--dport 9000').matches[1]).toMatchObject({module: 'tcp', implicit: true, kind: 'ports', dport: {ranges: [{from: 9000, to: 9000}]}})
  })

  it('filter: interfaces with + and !, fragments, dotted mask, sets, conntrack, state, addrtype, owner, iprange, icmp, NFLOG, LOG, QUEUE, counting rule', () => {
    const log = ruleMatching(rs, '-j LOG')
    expect(log.matches).toEqual([
      {kind: 'in-interface', negated: false, iface: {name: 'eth', wildcard: true}},
      {kind: 'protocol', negated: true, protocol: 'tcp'},
      {kind: 'fragment', negated: false},
    ])
    expect(log.target).toMatchObject({kind: 'log', prefix: 'x y: ', level: '4'})
    expect(ruleMatching(rs, '255.0.255.0').matches[0]).toEqual({kind: 'source', negated: false, address: {address: '10.0.0.1', mask: '255.0.255.0'}})
    expect(ruleMatching(rs, 'cali40all-ipam-pools').matches[0]).toMatchObject({kind: 'set', negated: false, setName: 'cali40all-ipam-pools', directions: ['src', 'dst']})
    expect(ruleMatching(rs, 'kube-router-pod-subnets').matches[0]).toMatchObject({kind: 'set', negated: true, directions: ['dst']})
    expect(ruleMatching(rs, '--ctstatus').matches[2]).toMatchObject({
      kind: 'conntrack',
      ctstate: {negated: false, values: ['NEW', 'RELATED']},
      ctstatus: {negated: true, values: ['ASSURED']},
      ctdir: {negated: false, dir: 'ORIGINAL'},
    })
    expect(ruleMatching(rs, '-m state').matches[0]).toMatchObject({kind: 'state', state: {negated: false, values: ['ESTABLISHED']}})
    expect(ruleMatching(rs, '--limit-iface-in').matches[0]).toMatchObject({kind: 'addrtype', srcType: {negated: true, values: ['LOCAL', 'BROADCAST']}, limitIfaceIn: true})
    expect(ruleMatching(rs, '! --probability').matches[0]).toMatchObject({kind: 'statistic', negated: true, probability: 0.25})
    expect(ruleMatching(rs, '! --probability').target).toMatchObject({kind: 'nflog', group: 5, prefix: 'p'})
    expect(ruleMatching(rs, '--uid-owner 1337').matches[0]).toMatchObject({kind: 'owner', uidOwner: {negated: false, from: 1337, to: 1337}})
    expect(ruleMatching(rs, '--src-range').matches[0]).toMatchObject({kind: 'iprange', srcRange: {negated: false, from: '10.0.0.1', to: '10.0.0.9'}})
    expect(ruleMatching(rs, '--icmp-type 8').matches[1]).toMatchObject({kind: 'icmp', type: '8'})
    expect(parseIptablesSave('*filter\n-A FORWARD -j QUEUE\nCOMMIT\n', {family: 'ipv4', backend: 'nft'}).facts.tables[0]!.chains[0]!.rules[0]!.target).toEqual({name: 'QUEUE', kind: 'queue'})
    const counting = rules(rs).find((r) => r.raw === '-A OUTPUT')!
    expect(counting.target).toBeUndefined()
    expect(counting.matches).toEqual([])
  })

  it('raw: NOTRACK and CT; counters on a rule; FORWARD policy DROP', () => {
    expect(ruleMatching(rs, 'CT --notrack').target).toMatchObject({kind: 'ct', notrack: true})
    expect(ruleMatching(rs, 'CT --zone 5').target).toMatchObject({kind: 'ct', notrack: false, zone: '5'})
    expect(ruleMatching(rs, '-j NOTRACK').target).toMatchObject({kind: 'notrack'})
    expect(ruleMatching(rs, '-A PREROUTING -j NI-MARKS').counters).toEqual({packets: 5, bytes: 300})
    expect(rs.tables[0]!.chains.find((c) => c.name === 'FORWARD')!.policy).toBe('DROP')
  })

  it('ip6tables: bracketed DNAT address with port, bare IPv6 DNAT address, /128 and /56, icmp6, reject-with icmp6', () => {
    const v6 = parseIptablesSave(testdata('marks/iptables-save/edge-ipv6-ip6tables.txt'), EDGE['edge-ipv6-ip6tables.txt']!).facts
    expect(v6.family).toBe('ipv6')
    expect(ruleMatching(v6, '[2001:db8::1]:80').target).toMatchObject({kind: 'dnat', to: {addressFrom: '2001:db8::1', addressTo: '2001:db8::1', ports: {from: 80, to: 80}}})
    expect(ruleMatching(v6, '[2001:db8::1]:80').matches[0]).toEqual({kind: 'destination', negated: false, address: {address: 'fd00:10:96::a', prefixLen: 128}})
    expect(ruleMatching(v6, '2001:db8::2').target).toMatchObject({kind: 'dnat', to: {addressFrom: '2001:db8::2', addressTo: '2001:db8::2'}})
    expect(ruleMatching(v6, 'MASQUERADE').matches[1]).toEqual({kind: 'destination', negated: true, address: {address: 'fd00:10:244::', prefixLen: 56}})
    expect(ruleMatching(v6, '--icmpv6-type').matches[2]).toMatchObject({module: 'icmp6', kind: 'icmp', type: '128'})
    expect(ruleMatching(v6, 'icmp6-adm-prohibited').target).toMatchObject({kind: 'reject', rejectWith: 'icmp6-adm-prohibited'})
    expect(ruleMatching(v6, '--save-mark').target).toMatchObject({kind: 'connmark', op: {kind: 'save', nfmask: 0x4000, ctmask: 0x4000}})
  })

  it('reachability: which built-in chains reach each user chain; dead chains reach from nowhere', () => {
    const reach = xtChainReachability(rs)
    const of = (table: string, chain: string) => reach.find((r) => r.table === table && r.chain === chain)!.reachedFrom
    expect(of('mangle', 'NI-MARKS')).toEqual([{table: 'mangle', builtin: 'PREROUTING', hook: 'prerouting', path: ['PREROUTING', 'NI-MARKS']}])
    expect(of('mangle', 'NI-UNUSED')).toEqual([])
    expect(of('nat', 'NI-SEP')).toEqual([{table: 'nat', builtin: 'PREROUTING', hook: 'prerouting', path: ['PREROUTING', 'NI-SVC', 'NI-SEP']}])
    const kind = parseIptablesSave(testdata('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt'), {family: 'ipv4', backend: 'legacy'}).facts
    const kr = xtChainReachability(kind)
    const sep = kr.find((r) => r.table === 'nat' && r.chain === 'KUBE-SEP-242VRRB6CJESMF7F')!
    expect(sep.reachedFrom.map((x) => [x.builtin, x.hook, x.path.join(' > ')])).toEqual([
      ['PREROUTING', 'prerouting', 'PREROUTING > KUBE-SERVICES > KUBE-SVC-3CRYVFGPLWYNKULQ > KUBE-SEP-242VRRB6CJESMF7F'],
      ['OUTPUT', 'output', 'OUTPUT > KUBE-SERVICES > KUBE-SVC-3CRYVFGPLWYNKULQ > KUBE-SEP-242VRRB6CJESMF7F'],
    ])
    expect(kr.find((r) => r.table === 'nat' && r.chain === 'KUBE-MARK-MASQ')!.reachedFrom.map((x) => x.builtin)).toEqual(['PREROUTING', 'OUTPUT'])
    // kubelet's canary chains and the old KUBE-MARK-DROP are never jumped to
    expect(kr.filter((r) => r.reachedFrom.length === 0).map((r) => `${r.table}/${r.chain}`)).toEqual([
      'mangle/KUBE-KUBELET-CANARY',
      'mangle/KUBE-PROXY-CANARY',
      'filter/KUBE-KUBELET-CANARY',
      'filter/KUBE-PROXY-CANARY',
      'nat/KUBE-KUBELET-CANARY',
      'nat/KUBE-MARK-DROP',
      'nat/KUBE-PROXY-CANARY',
    ])
  })
})

describe('parseIptablesSave flags and headers', () => {
  it('legacy-tables warning in the dump or in stderr (iptables 1.8.9 writes it to stderr)', () => {
    const warn = '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them'
    const body = '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n'
    expect(parseIptablesSave(body, {family: 'ipv4', backend: 'nft'}).facts.legacyTablesPresent).toBe(false)
    expect(parseIptablesSave(`${body}${warn}\n`, {family: 'ipv4', backend: 'nft'}).facts.legacyTablesPresent).toBe(true)
    expect(parseIptablesSave(body, {family: 'ipv4', backend: 'nft', stderr: `${warn}\n`}).facts.legacyTablesPresent).toBe(true)
    expect(hasLegacyTablesWarning('# Warning: iptables-legacy tables present, use iptables-legacy to see them')).toBe(true)
  })

  it('tables iptables-nft calls incompatible are listed (read them through nft)', () => {
    const p = parseIptablesSave("# Table `filter' is incompatible, use 'nft' tool.\n# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 22 17:32:59 2026\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n", {family: 'ipv4', backend: 'nft'})
    expect(p.problems).toEqual([])
    expect(p.facts.incompatibleTables).toEqual(['filter'])
    expect(p.facts.generatedBy).toBe('iptables-save v1.8.9 (nf_tables)')
  })

  it('a header that contradicts the backend is reported', () => {
    const nftHeader = '# Generated by iptables-save v1.8.9 (nf_tables) on x\n*filter\nCOMMIT\n'
    expect(parseIptablesSave(nftHeader, {family: 'ipv4', backend: 'legacy'}).problems[0]!.message).toMatch(/header says the nft backend/)
    const legacyHeader = '# Generated by iptables-save v1.8.9 on x\n*filter\nCOMMIT\n'
    expect(parseIptablesSave(legacyHeader, {family: 'ipv4', backend: 'nft'}).problems[0]!.message).toMatch(/legacy backend \(update-alternatives\)/)
  })

  it('CRLF line endings and blank lines are accepted', () => {
    const p = parseIptablesSave('*filter\r\n:INPUT ACCEPT [0:0]\r\n\r\n-A INPUT -m comment --comment "x y" -j ACCEPT\r\nCOMMIT\r\n', {family: 'ipv4', backend: 'nft'})
    expect(p.problems).toEqual([])
    expect(p.facts.tables[0]!.chains[0]!.rules[0]!.comments).toEqual(['x y'])
    expect(p.facts.tables[0]!.chains[0]!.rules[0]!.raw).toBe('-A INPUT -m comment --comment "x y" -j ACCEPT')
  })

  it('tokenises like iptables-restore 1.8.9: a quote may open mid-word and ends it; single quotes are plain', () => {
    const p = parseIptablesSave('*filter\n-A INPUT -m comment --comment ab"c d" -j ACCEPT\n-A INPUT -m comment --comment "x\\\\y\\"z" -j ACCEPT\nCOMMIT\n', {family: 'ipv4', backend: 'nft'})
    expect(p.problems).toEqual([])
    expect(p.facts.tables[0]!.chains[0]!.rules.map((r) => r.comments)).toEqual([['abc d'], ['x\\y"z']])
    // iptables-restore itself rejects this line ("Bad argument `b''"); the parser reports it
    const sq = parseIptablesSave("*filter\n-A INPUT -m comment --comment 'a b' -j ACCEPT\nCOMMIT\n", {family: 'ipv4', backend: 'nft'})
    expect(sq.problems).toEqual([expect.objectContaining({line: 2, message: '-m comment --comment expects one value, got 2'})])
  })

  it('-I inserts at its position (restore files may use it)', () => {
    const p = parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\n-I INPUT 1 -j ACCEPT\n-I INPUT -s 1.2.3.4/32 -j RETURN\nCOMMIT\n', {family: 'ipv4', backend: 'nft'})
    expect(p.problems).toEqual([])
    expect(p.facts.tables[0]!.chains[0]!.rules.map((r) => [r.position, r.target?.kind])).toEqual([
      [1, 'return'],
      [2, 'accept'],
      [3, 'drop'],
    ])
  })

  it('an empty dump has no tables and no problems', () => {
    expect(parseIptablesSave('', {family: 'ipv4', backend: 'legacy'})).toEqual({
      facts: {family: 'ipv4', backend: 'legacy', format: 'save', legacyTablesPresent: false, incompatibleTables: [], tables: []},
      problems: [],
    })
  })
})

describe('parseIptablesSave: malformed input becomes problems with line numbers', () => {
  const cases: Array<[string, string, RegExp, number | undefined]> = [
    ['rule before any table', '-A INPUT -j ACCEPT\n*filter\nCOMMIT\n', /-A outside a table/, 1],
    ['chain declaration outside a table', ':INPUT ACCEPT [0:0]\n', /chain declaration outside a table/, 1],
    ['unterminated quote', '*filter\n-A INPUT -m comment --comment "oops -j ACCEPT\nCOMMIT\n', /unterminated double quote/, 2],
    ['bad mark value', '*mangle\n-A PREROUTING -m mark --mark 0xzz -j ACCEPT\nCOMMIT\n', /--mark: invalid mark value "0xzz"/, 2],
    ['mark with two slashes', '*mangle\n-A PREROUTING -j MARK --set-xmark 0x1/0x2/0x3\nCOMMIT\n', /more than one "\/"/, 2],
    ['mark too large', '*mangle\n-A PREROUTING -j MARK --set-mark 0x100000000\nCOMMIT\n', /does not fit in 32 bits/, 2],
    ['octal-looking mark', '*mangle\n-A PREROUTING -m mark --mark 010 -j ACCEPT\nCOMMIT\n', /read as octal/, 2],
    ['MARK without an operation', '*mangle\n-A PREROUTING -j MARK\nCOMMIT\n', /-j MARK without an operation/, 2],
    ['CONNMARK with two operations', '*mangle\n-A PREROUTING -j CONNMARK --save-mark --restore-mark\nCOMMIT\n', /with 2 operations/, 2],
    ['port out of range', '*filter\n-A INPUT -p tcp -m tcp --dport 99999 -j ACCEPT\nCOMMIT\n', /port 99999 out of range/, 2],
    ['port name', '*filter\n-A INPUT -p tcp -m tcp --dport http -j ACCEPT\nCOMMIT\n', /port "http" is not a number/, 2],
    ['missing COMMIT at the end', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n', /table filter has no COMMIT \(truncated output\?\)/, 3],
    ['new table before COMMIT', '*filter\n*nat\nCOMMIT\n', /table filter has no COMMIT before \*nat/, 2],
    ['-A without chain', '*filter\n-A\nCOMMIT\n', /-A without a chain name/, 2],
    ['unknown line inside a table', '*filter\nhello world\nCOMMIT\n', /unknown line/, 2],
    ['option outside a module', '*filter\n-A INPUT --foo 1 -j ACCEPT\nCOMMIT\n', /option --foo outside a match module or target/, 2],
    ['-m without a name', '*filter\n-A INPUT -m -j ACCEPT\nCOMMIT\n', /-m needs a module name/, 2],
    ['-j without a target', '*filter\n-A INPUT -j\nCOMMIT\n', /-j needs a target/, 2],
    ['-s without an address', '*filter\n-A INPUT -s -j ACCEPT\nCOMMIT\n', /-s needs a value/, 2],
    ['IPv6 address in an IPv4 dump', '*filter\n-A INPUT -s 2001:db8::/32 -j ACCEPT\nCOMMIT\n', /IPv6 address "2001:db8::\/32" in an IPv4 dump/, 2],
    ['bad chain counters', '*filter\n:INPUT ACCEPT [x:y]\nCOMMIT\n', /bad chain counters "\[x:y\]"/, 2],
    ['probability out of range', '*nat\n-A PREROUTING -m statistic --mode random --probability 1.5 -j ACCEPT\nCOMMIT\n', /--probability "1.5" is not between 0 and 1/, 2],
    ['unknown statistic mode', '*nat\n-A PREROUTING -m statistic --mode often -j ACCEPT\nCOMMIT\n', /unknown --mode "often"/, 2],
    ['rule for an undeclared user chain', '*filter\n-A NOPE -j ACCEPT\nCOMMIT\n', /chain NOPE, which is not declared/, 2],
    ['jump to a missing chain', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j no-such-chain\nCOMMIT\n', /-j no-such-chain: no such chain in table filter/, 3],
    ['goto a missing chain', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -g GONE\nCOMMIT\n', /-g GONE: no such chain in table filter/, 3],
    ['duplicate table', '*filter\nCOMMIT\n*filter\nCOMMIT\n', /table filter appears twice/, 3],
    ['two targets', '*filter\n-A INPUT -j ACCEPT -j DROP\nCOMMIT\n', /second target DROP/, 2],
    ['"!" at the end', '*filter\n-A INPUT -j ACCEPT !\nCOMMIT\n', /"!" at the end of the rule/, 2],
    ['COMMIT outside a table', 'COMMIT\n', /COMMIT outside a table/, 1],
    ['TPROXY without --on-port', '*mangle\n-A PREROUTING -p tcp -j TPROXY --tproxy-mark 0x1\nCOMMIT\n', /-j TPROXY without --on-port/, 2],
    ['set without direction', '*filter\n-A INPUT -m set --match-set foo -j DROP\nCOMMIT\n', /expects --match-set NAME src\|dst/, 2],
  ]
  it.each(cases)('%s', (_name, text, message, line) => {
    const p = parseIptablesSave(text, {family: 'ipv4', backend: 'nft'})
    expect(p.problems).toContainEqual(expect.objectContaining({line, message: expect.stringMatching(message)}))
  })

  it('never throws on arbitrary bytes', () => {
    const junk = ['\u0000\u0001*', '*\n-A\n!', '"""', '-P', ':', '[1:2]', '*t\n-A C -m', '*t\n-A C -j MARK --set-xmark'].join('\n')
    expect(() => parseIptablesSave(junk, {family: 'ipv4', backend: 'nft'})).not.toThrow()
  })
})

describe('parseIptablesSave at kube-proxy scale (110k rules, 150k lines: docs/kernel-notes.md#kn-8-ruleset-scale)', () => {
  /** A kube-proxy-like nat table: per service one KUBE-SERVICES rule, a SVC chain with statistic rules, SEP chains. */
  function synthetic(services: number): string {
    const out: string[] = ['# Generated by iptables-save v1.8.9 on Sun Nov 22 17:20:12 2026', '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]']
    const rulesOut: string[] = [
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
      '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
      '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
      '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ]
    for (let s = 0; s < services; s++) {
      const svc = `KUBE-SVC-${s.toString(36).toUpperCase().padStart(16, "0")}`
      const ip = `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`
      out.push(`:${svc} - [0:0]`)
      rulesOut.push(`-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "ns${s}/svc${s}:http cluster IP" -m tcp --dport 80 -j ${svc}`)
      rulesOut.push(`-A ${svc} ! -s 10.244.0.0/16 -d ${ip}/32 -p tcp -m comment --comment "ns${s}/svc${s}:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`)
      for (let e = 0; e < 3; e++) {
        const sep = `KUBE-SEP-${(s * 3 + e).toString(36).toUpperCase().padStart(16, "0")}`
        const pod = `10.244.${(s * 3 + e) >> 8 & 255}.${(s * 3 + e) & 255}`
        out.push(`:${sep} - [0:0]`)
        const prob = e === 0 ? ' -m statistic --mode random --probability 0.33333333349' : e === 1 ? ' -m statistic --mode random --probability 0.50000000000' : ''
        rulesOut.push(`-A ${svc} -m comment --comment "ns${s}/svc${s}:http -> ${pod}:8080"${prob} -j ${sep}`)
        rulesOut.push(`-A ${sep} -s ${pod}/32 -m comment --comment "ns${s}/svc${s}:http" -j KUBE-MARK-MASQ`)
        rulesOut.push(`-A ${sep} -p tcp -m comment --comment "ns${s}/svc${s}:http" -m tcp -j DNAT --to-destination ${pod}:8080`)
      }
    }
    return [...out, ...rulesOut, 'COMMIT', '# Completed on Sun Nov 22 17:20:12 2026', ''].join('\n')
  }

  // How long it takes, and that it grows linearly, is measured by bench/parse-scale.mjs: timings are not asserted
  // here, where a loaded machine would make them flake.
  it('parses a kube-proxy-sized dump (~150k lines, 110k rules) without a problem, every rule kept', () => {
    const big = synthetic(10_000)
    const p = parseIptablesSave(big, {family: 'ipv4', backend: 'legacy'})
    expect(p.problems).toEqual([])
    expect(big.split('\n').length).toBeGreaterThan(149_000)
    // per Service: its KUBE-SERVICES rule and masquerade mark, and per endpoint one statistic jump and two SEP rules;
    // plus the 7 fixed rules
    expect(rules(p.facts).length).toBe(10_000 * (2 + 3 * 3) + 7)
  })
})

describe('collectors', () => {
  it('ask the runner for the right argv with a long timeout, and never interpret', async () => {
    const seen: RunRequest[] = []
    const out: RawOutput = {argv: [], stdout: 'x', stderr: '', exitCode: 0, durationMs: 1}
    const src: Source = {meta: {kind: 'snapshot'}, run: async (req) => (seen.push(req), out)}
    expect(await collectIptablesSave(src, 'ipv6')).toBe(out)
    await collectIptablesLegacySave(src, 'ipv4')
    expect(seen.map((r) => [r.argv, r.timeoutMs])).toEqual([
      [IPTABLES_SAVE_ARGV.ipv6, 120_000],
      [IPTABLES_LEGACY_SAVE_ARGV.ipv4, 30_000],
    ])
  })
})

// ---------------------------------------------------------------------------------------------------- live

const skip = liveSkipReason(['iptables-restore', 'iptables-legacy-restore', 'iptables-save', 'iptables-legacy-save', 'nft'])
if (skip) console.warn(`[iptables-save live] ${skip}`)

/** A published capture turned into iptables-restore input: kubectl noise dropped; `iptables -S` lines wrapped in *table/COMMIT. */
function restoreInput(name: string, text: string, table?: string): string {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''))
  if (!table) return `${lines.filter((l) => /^(\*|:|-A |COMMIT|#)/.test(l)).join('\n')}\n`
  const out = [`*${table}`]
  for (const l of lines) {
    let m = /^-P (\S+) (\S+)/.exec(l)
    if (m) out.push(`:${m[1]} ${m[2]} [0:0]`)
    else if ((m = /^-N (\S+)/.exec(l))) out.push(`:${m[1]} - [0:0]`)
    else if (l.startsWith('-A ')) out.push(l)
    else if (l.trim() !== '') throw new Error(`${name}: unexpected line ${l}`)
  }
  return `${out.join('\n')}\nCOMMIT\n`
}

/**
 * What must survive a restore → save round trip: per table and chain, built-in-ness, policy, and each rule's
 * matches, target and comments in order. Not compared (iptables normalises them): counters (restored as 0),
 * line numbers and raw text, table order (nft and legacy print tables in kernel order), chain order (legacy
 * sorts user chains), the header, and the rule-spec vs save format.
 */
function semantic(rs: XtRuleset): unknown {
  const out: Record<string, Record<string, unknown>> = {}
  for (const t of rs.tables) {
    const chains: Record<string, unknown> = {}
    for (const c of t.chains) chains[c.name] = {builtin: c.builtin, policy: c.policy, hook: c.hook, rules: c.rules.map((r) => ({matches: r.matches, target: r.target, comments: r.comments}))}
    out[t.name] = chains
  }
  return out
}

describe.skipIf(skip !== undefined)('live: restore each capture in a throwaway netns, read it back through the collectors', () => {
  const open: TestNetns[] = []
  afterAll(async () => {
    for (const ns of open) await ns.close()
  })

  for (const f of fixtures('iptables-save')) {
    it(f.name, async () => {
      const spec = FIXTURES[f.name]!
      const ns = await createTestNetns(`ipt${open.length}`)
      open.push(ns)
      const input = restoreInput(f.name, f.text, spec.opts.table)
      await ns.sh(['iptables-restore'], input)
      await ns.sh(['iptables-legacy-restore'], input)

      const expected = semantic(parseIptablesSave(f.text, spec.opts).facts)
      const nftOut = await collectIptablesSave(ns.source, 'ipv4')
      expect(nftOut.failure).toBeUndefined()
      const nft = parseIptablesSave(nftOut.stdout, {family: 'ipv4', backend: 'nft', stderr: nftOut.stderr})
      expect(nft.problems).toEqual([])
      expect(nft.facts.generatedBy).toMatch(/^iptables-save v1\.8\.\d+ \(nf_tables\)$/)
      // the legacy copy we just restored is announced by iptables-nft (on stderr with 1.8.9)
      expect(nft.facts.legacyTablesPresent).toBe(true)
      expect(semantic(nft.facts)).toEqual(expected)

      const legacyOut = await collectIptablesLegacySave(ns.source, 'ipv4')
      expect(legacyOut.failure).toBeUndefined()
      const legacy = parseIptablesSave(legacyOut.stdout, {family: 'ipv4', backend: 'legacy', stderr: legacyOut.stderr})
      expect(legacy.problems).toEqual([])
      expect(legacy.facts.legacyTablesPresent).toBe(false)
      expect(semantic(legacy.facts)).toEqual(expected)
    })
  }

  it('hand-written ipv4 edge cases survive a round trip through iptables-nft with the same mark arithmetic', async () => {
    const ns = await createTestNetns('iptedge')
    open.push(ns)
    const text = testdata('marks/iptables-save/edge-ipv4-every-operation.txt')
    const hasIpset = liveSkipReason(['ipset']) === undefined
    if (hasIpset) {
      await ns.sh(['ipset', 'create', 'cali40all-ipam-pools', 'hash:net'])
      await ns.sh(['ipset', 'create', 'kube-router-pod-subnets', 'hash:net'])
    }
    const input = hasIpset ? text : text.replace(/^.*-m set .*\n/gm, '')
    await ns.sh(['iptables-restore'], input)
    const out = await collectIptablesSave(ns.source, 'ipv4')
    const back = parseIptablesSave(out.stdout, {family: 'ipv4', backend: 'nft'})
    expect(back.problems).toEqual([])
    const before = parseIptablesSave(input, {family: 'ipv4', backend: 'nft'}).facts
    // iptables rewrites every MARK/CONNMARK form into --set-xmark (and --set-mark V into V/0xffffffff): compare
    // what each operation does to a set of marks, not how it is spelled.
    const samples = [0, 0xffffffff, 0x4000, 0x12345678, 0x80000080, 0xdeadbeef]
    const effect = (rs: XtRuleset) =>
      rules(rs).flatMap((r) =>
        xtRuleMarkUses(r).map((u) =>
          u.role === 'write'
            ? samples.map((p) => {
                const s = applyMarkOp(u.op, {packet: p, conntrack: p ^ 0x0f0f0f0f, socket: 0x77})
                return [s.packet, s.conntrack]
              })
            : u,
        ),
      )
    expect(effect(back.facts)).toEqual(effect(before))
    expect(rules(back.facts).length).toBe(rules(before).length)
  })

  it('a table iptables-nft cannot show is flagged incompatible', async () => {
    const ns = await createTestNetns('iptincompat')
    open.push(ns)
    await ns.sh(['nft', '-f', '-'], 'table ip filter {\n chain INPUT {\n  type filter hook input priority 0; policy accept;\n  numgen random mod 2 vmap { 0 : accept, 1 : drop }\n }\n}\n')
    await ns.sh(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-j', 'MASQUERADE'])
    const out = await collectIptablesSave(ns.source, 'ipv4')
    const p = parseIptablesSave(out.stdout, {family: 'ipv4', backend: 'nft', stderr: out.stderr})
    expect(p.problems).toEqual([])
    expect(p.facts.incompatibleTables).toEqual(['filter'])
    expect(p.facts.tables.map((t) => t.name)).toEqual(['nat'])
  })
})

describe('parseIptablesSaveForMarks', () => {
  it('gives the chains with no rule built one shared, frozen list, and a chain its own on its first rule (-A or -I)', () => {
    const dump = ['*mangle', ':PREROUTING ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', ':C - [0:0]', '-A PREROUTING -j A', '-A A -j MARK --set-xmark 0x1/0x1', '-I B 1 -m mark --mark 0x1/0x1 -j ACCEPT', '-A C -j RETURN', 'COMMIT', ''].join('\n')
    const [pre, a, b, c] = parseIptablesSaveForMarks(dump, {family: 'ipv4', backend: 'legacy'}).facts.tables[0]!.chains
    expect(pre!.rules).toBe(c!.rules)
    expect(Object.isFrozen(c!.rules)).toBe(true)
    expect(c!.rules).toEqual([])
    expect(a!.rules.map((r) => r.raw)).toEqual(['-A A -j MARK --set-xmark 0x1/0x1'])
    expect(b!.rules.map((r) => [r.position, r.raw])).toEqual([[1, '-I B 1 -m mark --mark 0x1/0x1 -j ACCEPT']])
    expect(Object.isFrozen(a!.rules) || Object.isFrozen(b!.rules)).toBe(false)
    expect(c!.rules).toEqual([])
  })

  it('skims the rules it does not build with the tokenizer\'s quoting: the same chains, positions and jumps', () => {
    const dump = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':A - [0:0]',
      ':B - [0:0]',
      ':C - [0:0]',
      ':D - [0:0]',
      '[3:120] -A PREROUTING -m comment --comment "x -j D" -j A',
      '-A PREROUTING -m comment --comment a"b c"d --jump B',
      '-A PREROUTING -j "C"',
      '-A PREROUTING -m comment --comment "it\\"s -g D" -g C',
      '-A A -j MARK --set-xmark 0x4000/0x4000',
      '-A A -m comment --comment "unterminated -j D',
      'COMMIT',
      '',
    ].join('\n')
    const opts = {family: 'ipv4', backend: 'legacy'} as const
    const full = parseIptablesSave(dump, opts)
    const marks = parseIptablesSaveForMarks(dump, opts)
    // a rule not built is not read further: its options are not checked (line 8); an unterminated quote still is
    expect(marks.problems).toEqual(full.problems.filter((p) => p.line !== 8))
    expect(xtChainReachability(marks.facts)).toEqual(xtChainReachability(full.facts))
    const pre = marks.facts.tables[0]!.chains[0]!
    expect(pre.rules).toEqual([])
    expect({rules: pre.unbuilt?.rules, jumps: pre.unbuilt?.jumps}).toEqual({rules: 4, jumps: ['A', 'B', 'C']})
    expect(marks.facts.tables[0]!.chains[1]!.rules.map((r) => [r.position, r.line])).toEqual([[1, 11]])
  })
})
