import {afterAll, describe, expect, it} from 'vitest'
import {ipRulesProbe, IP_RULE_ARGV, parseIpRuleJson, parseIpRuleText} from '../../src/probes/ip-rule.js'
import type {IpRule} from '../../src/model/routing.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'
import {fixtures, ROOT, stableJson} from '../helpers/fixtures.js'
import {createTestNetns, liveSkipReason, type TestNetns} from './netns-helpers.js'

// docs/kernel-notes.md#kn-6-ip-rule-json: `ip -j rule` from iproute2 6.1 on this machine, one object per line here for reading.
const DEPS_JSON = `[{"priority":100,"src":"all","fwmark":"0x1234","fwmask":"0xffff","table":"100"},
{"priority":120,"src":"all","fwmark":"0x10","table":"100"},
{"priority":130,"not":null,"src":"all","fwmark":"0x200","fwmask":"0xf00","table":"main"},
{"priority":140,"src":"all","fwmark":"0x300","goto":32766},
{"priority":150,"src":"all","fwmark":"0x4000","fwmask":"0x4000","iif":"ni-h1","action":"blackhole"},
{"priority":160,"src":"10.99.0.0","srclen":24,"iif":"ni-nonexist","iif_detached":null,"table":"100"},
{"priority":170,"src":"all","dst":"10.200.0.0","dstlen":16,"fwmark":"0x5","fwmask":"0x7","table":"2000"}]`

describe('parseIpRuleText on real captures', () => {
  for (const f of fixtures('ip-rule')) {
    it(f.name, async () => {
      const parsed = parseIpRuleText(f.text, 'ipv4')
      expect(parsed.problems).toEqual([])
      await expect(stableJson(parsed)).toMatchFileSnapshot(`${ROOT}testdata/marks/ip-rule/${f.name}.golden.json`)
    })
  }

  it('Cilium ENI: fwmark 0x200/0xf00 → 2004 at pref 9 (spaces instead of the TAB)', () => {
    const f = fixtures('ip-rule').find((x) => x.name.startsWith('ack-cilium'))!
    const rules = parseIpRuleText(f.text, 'ipv4').facts
    expect(rules[0]).toEqual({family: 'ipv4', priority: 9, not: false, fwmark: {value: 0x200, mask: 0xf00}, action: {kind: 'table', table: '2004'}, line: 1, raw: '9:      from all fwmark 0x200/0xf00 lookup 2004'})
    expect(rules[1]).toMatchObject({priority: 20, to: {address: '10.0.0.246', prefixLen: 32}, action: {kind: 'table', table: 'main'}})
    expect(rules.find((r) => r.priority === 111 && r.from?.address === '10.0.0.239')!.action).toEqual({kind: 'table', table: '10'})
  })

  it('EKS: AWS VPC CNI connmark rule fwmark 0x80/0x80 → main', () => {
    const f = fixtures('ip-rule').find((x) => x.name.startsWith('eks'))!
    expect(parseIpRuleText(f.text, 'ipv4').facts.find((r) => r.priority === 1024)).toMatchObject({fwmark: {value: 0x80, mask: 0x80}, action: {kind: 'table', table: 'main'}})
  })

  it('OVN-Kubernetes: a literal TAB after "N:", whole-mark 0x1745ec', () => {
    const f = fixtures('ip-rule').find((x) => x.name.startsWith('ovn'))!
    expect(f.text).toContain('30:\tfrom all')
    const rules = parseIpRuleText(f.text, 'ipv4').facts
    expect(rules.find((r) => r.priority === 30)).toMatchObject({fwmark: {value: 0x1745ec, mask: 0xffffffff}, action: {kind: 'table', table: '7'}})
    expect(rules.find((r) => r.priority === 6000)!.from).toEqual({address: '10.244.2.3', prefixLen: 32})
  })
})

describe('parseIpRuleJson', () => {
  it('reads the documented examples (docs/kernel-notes.md#kn-6-ip-rule-json): hex strings, null-valued keys, goto, action, no srclen for /32', () => {
    const {facts, problems} = parseIpRuleJson(DEPS_JSON, 'ipv4')
    expect(problems).toEqual([])
    const by = (p: number) => facts.find((r) => r.priority === p)!
    expect(by(100).fwmark).toEqual({value: 0x1234, mask: 0xffff})
    expect(by(120).fwmark).toEqual({value: 0x10, mask: 0xffffffff})
    expect(by(130)).toMatchObject({not: true, fwmark: {value: 0x200, mask: 0xf00}, action: {kind: 'table', table: 'main'}})
    expect(by(140).action).toEqual({kind: 'goto', target: 32766, unresolved: false})
    expect(by(150)).toMatchObject({iif: {name: 'ni-h1', detached: false}, action: {kind: 'blackhole'}})
    expect(by(160)).toMatchObject({from: {address: '10.99.0.0', prefixLen: 24}, iif: {name: 'ni-nonexist', detached: true}})
    expect(by(170)).toMatchObject({to: {address: '10.200.0.0', prefixLen: 16}, fwmark: {value: 5, mask: 7}})
    expect(by(100).from).toBeUndefined()
  })

  it('IPv6 host source without srclen is a /128', () => {
    const {facts} = parseIpRuleJson('[{"priority":5,"src":"2001:db8::1","table":"7"}]', 'ipv6')
    expect(facts[0]!.from).toEqual({address: '2001:db8::1', prefixLen: 128})
  })
})

describe('malformed ip rule input', () => {
  const text: Array<[string, string, RegExp, number]> = [
    ['no priority colon', 'from all lookup main\n', /not a rule line/, 1],
    ['unknown word', '0:\tfrom all lookup local frobnicate\n', /unknown word "frobnicate"/, 1],
    ['bad fwmark', '5:\tfrom all fwmark 0xzz lookup 5\n', /bad fwmark "0xzz"/, 1],
    ['fwmark with two slashes', '5:\tfrom all fwmark 0x1/0x2/0x3 lookup 5\n', /bad fwmark/, 1],
    ['no action', '0:\tfrom all\n1:\tfrom all lookup main\n', /no action/, 1],
    ['value missing at the end', '0:\tfrom all lookup\n', /lookup without a value/, 1],
    ['bad uidrange', '7:\tfrom all uidrange 5 lookup 9\n', /bad uidrange "5"/, 1],
    ['IPv6 prefix in an IPv4 list', '\n\n3:\tfrom 2001:db8::/32 lookup 3\n', /IPv6 prefix "2001:db8::\/32" in an IPv4 rule list/, 3],
    ['bad goto', '3:\tfrom all goto x\n', /bad goto "x"/, 1],
  ]
  it.each(text)('text: %s', (_n, input, message, line) => {
    expect(parseIpRuleText(input, 'ipv4').problems).toContainEqual(expect.objectContaining({line, message: expect.stringMatching(message)}))
  })
  const json: Array<[string, string, RegExp]> = [
    ['empty', '', /empty output/],
    ['not JSON', '[{', /not valid JSON/],
    ['not a list', '{"priority":1}', /expected a list of rules/],
    ['no priority', '[{"src":"all","table":"main"}]', /rule 0: no priority/],
    ['no action', '[{"priority":1,"src":"all"}]', /rule 0: no action/],
    ['unknown field', '[{"priority":1,"src":"all","table":"main","flowlabel":"0x1"}]', /rule 0: unknown field "flowlabel"/],
    ['bad fwmark', '[{"priority":1,"src":"all","fwmark":"x","table":"main"}]', /rule 0: bad fwmark/],
  ]
  it.each(json)('json: %s', (_n, input, message) => {
    expect(parseIpRuleJson(input, 'ipv4').problems).toContainEqual(expect.objectContaining({message: expect.stringMatching(message)}))
  })
})

describe('ipRulesProbe', () => {
  it('asks for ip -j -4/-6 rule show', async () => {
    const seen: RunRequest[] = []
    const out: RawOutput = {argv: [], stdout: '[]', stderr: '', exitCode: 0, durationMs: 1}
    const src: Source = {meta: {kind: 'snapshot'}, run: async (req) => (seen.push(req), out)}
    await src.run(ipRulesProbe('ipv4').request)
    await src.run(ipRulesProbe('ipv6').request)
    expect(seen.map((r) => r.argv)).toEqual([IP_RULE_ARGV.ipv4, IP_RULE_ARGV.ipv6])
  })
})

const skip = liveSkipReason([])
if (skip) console.warn(`[ip-rule live] ${skip}`)

describe.skipIf(skip !== undefined)('live: rules of every kind in a throwaway netns, JSON and text agree', () => {
  let ns: TestNetns | undefined
  afterAll(async () => ns?.close())

  const V4 = [
    'pref 100 fwmark 0x1234/0xffff table 100',
    'pref 120 fwmark 0x10 table 100',
    'pref 130 not fwmark 0x200/0xf00 table main',
    'pref 140 fwmark 0x300 goto 32766',
    'pref 141 goto 9999',
    'pref 150 fwmark 0x4000/0x4000 iif ni-h1 blackhole',
    'pref 151 unreachable',
    'pref 152 prohibit',
    'pref 153 nop',
    'pref 160 from 10.99.0.0/24 iif ni-nonexist table 100',
    'pref 161 from 10.99.0.1 to 10.1.0.0/16 oif ni-x table 101',
    'pref 170 ipproto tcp sport 80 dport 1000-2000 table 102',
    'pref 171 uidrange 100-200 table 103',
    'pref 172 l3mdev',
    'pref 173 tos 0x10 table 104 suppress_prefixlength 0',
    'pref 174 table main suppress_ifgroup 5',
    'pref 175 fwmark 0xca6c table 51820 proto static',
    'pref 176 realms 3/4 table 105',
    'pref 177 tun_id 5 table 106',
    'pref 1024 fwmark 0x80/0x80 lookup main',
  ]
  const V6 = ['pref 200 from 2001:db8::/32 fwmark 0x1 table 200', 'pref 201 from 2001:db8::1 to 2001:db8:1::/48 table 201']

  function strip(rules: IpRule[]): IpRule[] {
    return rules.map(({line: _l, raw: _r, ...rest}) => rest as IpRule)
  }

  it('every selector and action', async () => {
    ns = await createTestNetns('iprule')
    for (const r of V4) await ns.sh(['ip', 'rule', 'add', ...r.split(' ')])
    for (const r of V6) await ns.sh(['ip', '-6', 'rule', 'add', ...r.split(' ')])
    for (const family of ['ipv4', 'ipv6'] as const) {
      const jsonOut = await ns.source.run(ipRulesProbe(family).request)
      expect(jsonOut.failure).toBeUndefined()
      const textOut = await ns.sh(['ip', family === 'ipv6' ? '-6' : '-4', 'rule', 'show'])
      const j = parseIpRuleJson(jsonOut.stdout, family)
      const t = parseIpRuleText(textOut.stdout, family)
      expect(j.problems).toEqual([])
      expect(t.problems).toEqual([])
      expect(strip(t.facts)).toEqual(j.facts)
      // plus the defaults: local, main and default for IPv4; local and main only for IPv6
      expect(j.facts.length).toBe(family === 'ipv4' ? V4.length + 3 : V6.length + 2)
    }
    const v4 = parseIpRuleJson((await ns.source.run(ipRulesProbe('ipv4').request)).stdout, 'ipv4').facts
    const by = (p: number) => v4.find((r) => r.priority === p)!
    expect(by(141).action).toEqual({kind: 'goto', target: 9999, unresolved: true})
    expect(by(150)).toMatchObject({iif: {name: 'ni-h1', detached: true}, fwmark: {value: 0x4000, mask: 0x4000}, action: {kind: 'blackhole'}})
    expect(by(153).action).toEqual({kind: 'nop'})
    expect(by(170)).toMatchObject({ipproto: 'tcp', sport: {from: 80, to: 80}, dport: {from: 1000, to: 2000}})
    expect(by(171).uidRange).toEqual({start: 100, end: 200})
    expect(by(172).action).toEqual({kind: 'l3mdev'})
    expect(by(173)).toMatchObject({tos: '0x10', suppressPrefixLength: 0})
    expect(by(175)).toMatchObject({fwmark: {value: 0xca6c, mask: 0xffffffff}, protocol: 'static'})
    expect(by(176).realms).toEqual({from: '3', to: '4'})
    expect(by(177).tunId).toBe(5)
  })
})
