import {existsSync, readdirSync} from 'node:fs'
import {afterAll, describe, expect, it} from 'vitest'
import {applyMarkOp, type MarkOp} from '../../src/model/mark.js'
import {nftChainReachability} from '../../src/model/chain-graph.js'
import {nftTablesToEvaluate, type NftRule, type NftRuleset, type NftTable} from '../../src/model/netfilter.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'
import {collectNftRuleset, NFT_LIST_RULESET_ARGV, parseNftJson} from '../../src/probes/nft-ruleset.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'
import {ROOT, stableJson, testdata} from '../helpers/fixtures.js'
import {createTestNetns, liveSkipReason, type TestNetns} from './netns-helpers.js'

const NFT_DIR = `${ROOT}testdata/marks/nft`

/**
 * How each text capture in testdata/fixtures/nft (and the hand-written edge file) is loaded into a throwaway
 * netns so that `nft -j list ruleset` can be captured from it (testdata/marks/SOURCES.md explains each step).
 */
interface Load {
  /** The nft text to load. */
  file: string
  /** Small edits so nftables 1.0.6 accepts text printed by a newer nft; each with its reason. */
  edits: Array<[RegExp, string, string]>
  ipsets?: Array<[string, string]>
  /**
   * Rules whose `xt match "…"` nft cannot re-parse: loaded without the xt part, then replaced in place
   * (`iptables -R CHAIN POS -c PKTS BYTES …`) by iptables-nft, so the capture holds real xt expressions.
   */
  iptables?: Array<{table: string; chain: string; position: number; counters: [number, number]; rule: string}>
}

const OUTPUT_DSTNAT: [RegExp, string, string] = [/type nat hook output priority dstnat;/g, 'type nat hook output priority -100;', 'nft 1.0.6 accepts the name dstnat only in prerouting; -100 is its value']
const STRIP_XT: [RegExp, string, string] = [/xt (match|target) "[^"]+" ?/g, '', 'nft cannot parse xt statements back; those rules are re-created with iptables-nft']

const LOADS: Record<string, Load> = {
  'k3s-kube-proxy-nftables-mode-table': {file: 'fixtures/nft/k3s-kube-proxy-nftables-mode-table.txt', edits: []},
  'k0s-1.34-kube-router-iptables-nft': {
    file: 'fixtures/nft/k0s-1.34-kube-router-iptables-nft.txt',
    edits: [OUTPUT_DSTNAT, STRIP_XT],
    ipsets: [
      ['kube-router-pod-subnets', 'hash:net'],
      ['kube-router-node-ips', 'hash:ip'],
    ],
    iptables: [
      {table: 'nat', chain: 'POSTROUTING', position: 2, counters: [8, 485], rule: '-m set --match-set kube-router-pod-subnets src -m set ! --match-set kube-router-pod-subnets dst -m set ! --match-set kube-router-node-ips dst -j MASQUERADE --random-fully'},
      ...['10.244.0.3/A7GHKP2J34Z5Y7ZZ', '10.244.0.4/Y3QHWU455JSZ6DPU', '10.244.0.5/LF5XTPGAWZO3FEWV'].flatMap((s, i) => {
        const [ip, id] = s.split('/') as [string, string]
        return [
          {table: 'filter', chain: 'KUBE-ROUTER-FORWARD', position: 4 * i + 2, counters: [0, 0] as [number, number], rule: `-d ${ip}/32 -m physdev --physdev-is-bridged -j KUBE-POD-FW-${id}`},
          {table: 'filter', chain: 'KUBE-ROUTER-FORWARD', position: 4 * i + 4, counters: [0, 0] as [number, number], rule: `-s ${ip}/32 -m physdev --physdev-is-bridged -j KUBE-POD-FW-${id}`},
        ]
      }),
    ],
  },
  'calico-3.30-ingress-nginx-controller-iptables-nft': {
    file: 'fixtures/nft/calico-3.30-ingress-nginx-controller-iptables-nft.txt',
    edits: [OUTPUT_DSTNAT, STRIP_XT, [/meta l4proto ipv4 /g, 'meta l4proto 4 ', 'the capture host names IP protocol 4 "ipv4" in /etc/protocols; Debian calls it "ipencap"']],
    ipsets: [
      ['cali40all-vxlan-net', 'hash:net'],
      ['cali40s:whisker-goldmane', 'hash:net'],
      ['cali40s:whisker-dns', 'hash:net'],
      ['cali40masq-ipam-pools', 'hash:net'],
      ['cali40all-ipam-pools', 'hash:net'],
    ],
    iptables: [
      {table: 'filter', chain: 'cali-OUTPUT', position: 3, counters: [0, 0], rule: '-p udp -m udp --dport 4789 -m addrtype --src-type LOCAL -m set --match-set cali40all-vxlan-net dst -j ACCEPT'},
      {table: 'filter', chain: 'cali-po-_YYnSgB46MA1TYU44kJq', position: 1, counters: [0, 0], rule: '-p tcp -m set --match-set cali40s:whisker-goldmane dst -m tcp --dport 7443 -j MARK --set-xmark 0x10000/0x10000'},
      {table: 'filter', chain: 'cali-po-_YYnSgB46MA1TYU44kJq', position: 4, counters: [0, 0], rule: '-p tcp -m set --match-set cali40s:whisker-dns dst -m tcp --dport 53 -j MARK --set-xmark 0x10000/0x10000'},
      {table: 'filter', chain: 'cali-po-_YYnSgB46MA1TYU44kJq', position: 7, counters: [0, 0], rule: '-p udp -m set --match-set cali40s:whisker-dns dst -m udp --dport 53 -j MARK --set-xmark 0x10000/0x10000'},
      {table: 'filter', chain: 'cali-INPUT', position: 1, counters: [0, 0], rule: '-p udp -m udp --dport 4789 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -j ACCEPT'},
      {table: 'nat', chain: 'cali-nat-outgoing', position: 1, counters: [23, 2191], rule: '-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully'},
    ],
  },
  'edge-native-marks': {file: 'marks/nft/edge-native-marks.nft', edits: []},
}

/** (table, chain, position) of every rule line with an `xt` statement in an `nft list ruleset` text. */
function xtLines(text: string): string[] {
  const out: string[] = []
  let table = ''
  let chain = ''
  let n = 0
  for (const raw of text.split('\n')) {
    const l = raw.trim()
    let m = /^table (\S+) (\S+) \{/.exec(l)
    if (m) {
      table = m[2]!
      continue
    }
    if ((m = /^chain (\S+) \{/.exec(l))) {
      chain = m[1]!
      n = 0
      continue
    }
    if (l === '' || l === '}' || l.startsWith('#') || l.startsWith('type ') || l.startsWith('comment ')) continue
    n++
    if (/\bxt (match|target) /.test(l)) out.push(`${table}/${chain}/${n}`)
  }
  return out
}

function capturePath(name: string): string {
  return `${NFT_DIR}/${name}.nft.json`
}

// ---------------------------------------------------------------------------------- live: captures

const skip = liveSkipReason(['nft', 'iptables', 'ipset'])
if (skip) console.warn(`[nft-ruleset live] ${skip}`)

describe.skipIf(skip !== undefined)('live: load each nft capture into a throwaway netns and capture `nft -j list ruleset`', () => {
  const open: TestNetns[] = []
  afterAll(async () => {
    for (const ns of open) await ns.close()
  })

  for (const [name, load] of Object.entries(LOADS)) {
    it(name, async () => {
      const original = testdata(load.file)
      expect(xtLines(original).sort()).toEqual((load.iptables ?? []).map((r) => `${r.table}/${r.chain}/${r.position}`).sort())
      let text = original
      for (const [re, by] of load.edits) text = text.replace(re, by)
      const ns = await createTestNetns(`nft${open.length}`)
      open.push(ns)
      await ns.sh(['nft', '-f', '-'], text)
      for (const [set, type] of load.ipsets ?? []) await ns.sh(['ipset', 'create', set, type])
      for (const r of load.iptables ?? []) await ns.sh(['iptables', '-t', r.table, '-R', r.chain, String(r.position), '-c', String(r.counters[0]), String(r.counters[1]), ...r.rule.split(' ')])
      const out = await collectNftRuleset(ns.source)
      expect(out.failure).toBeUndefined()
      // nft prints one line; stored re-indented (key order kept) so that it can be reviewed
      await expect(`${JSON.stringify(JSON.parse(out.stdout), null, 2)}\n`).toMatchFileSnapshot(capturePath(name))
    })
  }
})

// ------------------------------------------------------------------------------------- parse tests

function rulesOf(rs: NftRuleset, table: string, chain: string): NftRule[] {
  const t = rs.tables.find((x) => x.name === table)!
  return t.chains.find((c) => c.name === chain)!.rules
}

function tableOf(rs: NftRuleset, family: string, name: string): NftTable {
  return rs.tables.find((t) => t.family === family && t.name === name)!
}

describe('parseNftJson on captures generated from the fixtures (testdata/marks/nft)', () => {
  const names = existsSync(NFT_DIR) ? readdirSync(NFT_DIR).filter((f) => f.endsWith('.nft.json')) : []
  it('has a capture for every load', () => {
    expect(names.sort()).toEqual(Object.keys(LOADS).map((n) => `${n}.nft.json`).sort())
  })
  for (const f of names) {
    it(`${f} (golden)`, async () => {
      const text = testdata(`marks/nft/${f}`)
      const parsed = parseNftJson(text)
      expect(parsed.problems).toEqual([])
      expect(parsed.facts.schemaVersion).toBe(1)
      expect(parsed.facts.nftVersion).toBe('1.0.6')
      // Each rule's expr is the capture's own list, untouched (checked here), so the golden leaves it out.
      const listed = (JSON.parse(text) as {nftables: Array<{rule?: {expr: unknown[]}}>}).nftables.flatMap((o) => (o.rule ? [o.rule.expr] : []))
      const kept = parsed.facts.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => r.expr)))
      expect(kept).toHaveLength(listed.length)
      expect(new Set(kept)).toEqual(new Set(listed))
      const withoutExpr = {...parsed, facts: {...parsed.facts, tables: parsed.facts.tables.map((t) => ({...t, chains: t.chains.map((c) => ({...c, rules: c.rules.map(({expr, ...r}) => ({...r, exprStatements: expr.length}))}))}))}}
      await expect(stableJson(withoutExpr)).toMatchFileSnapshot(`${NFT_DIR}/${f.replace(/\.nft\.json$/, '')}.golden.json`)
    })
  }

  it('k3s kube-proxy nftables mode: native table, masquerade mark or/xor/test, vmap dispatch reaches every endpoint chain', () => {
    const rs = parseNftJson(testdata('marks/nft/k3s-kube-proxy-nftables-mode-table.nft.json')).facts
    const t = tableOf(rs, 'ip', 'kube-proxy')
    // nft 1.0.6 prints the table comment in text (`comment "rules for kube-proxy"`) but not in JSON
    expect(t).toMatchObject({owner: 'nft', readThrough: 'nft', xtCount: 0})
    expect(t.comment).toBeUndefined()
    const [mark] = rulesOf(rs, 'kube-proxy', 'mark-for-masquerade')
    // meta mark set meta mark | 0x00004000
    expect(mark!.markWrites).toEqual([
      {target: 'packet', op: {kind: 'bitwise', target: 'packet', source: 'packet', and: 0xffffbfff, xor: 0x4000}, value: {'|': [{meta: {key: 'mark'}}, 16384]}},
    ])
    const masq = rulesOf(rs, 'kube-proxy', 'masquerading')
    // meta mark & 0x00004000 == 0x00000000 return
    expect(masq[0]!.markMatches).toEqual([{on: 'packet', op: '==', mark: {value: 0, mask: 0x4000}, right: 0}])
    expect(masq[0]!.verdict).toEqual({kind: 'return'})
    // meta mark set meta mark ^ 0x00004000
    const xor = masq[1]!.markWrites[0]!.op!
    expect(xor).toEqual({kind: 'bitwise', target: 'packet', source: 'packet', and: 0xffffffff, xor: 0x4000})
    expect(applyMarkOp(xor, {packet: 0x4080, conntrack: 0}).packet).toBe(0x80)
    expect(masq[2]!.expr).toEqual([{masquerade: {flags: 'fully-random'}}])
    const base = t.chains.filter((c) => c.base).map((c) => [c.name, c.base!.type, c.base!.hook, c.base!.prio, c.base!.policy])
    expect(base).toContainEqual(['filter-prerouting', 'filter', 'prerouting', -110, 'accept'])
    expect(base).toContainEqual(['nat-prerouting', 'nat', 'prerouting', -100, 'accept'])
    expect(t.sets.find((s) => s.name === 'service-ips')).toMatchObject({kind: 'map', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict'})
    const services = rulesOf(rs, 'kube-proxy', 'services')
    expect(services[0]!.verdict).toMatchObject({kind: 'vmap', map: '@service-ips'})
    expect(services[0]!.verdict!.targets).toContain('service-P6J77WGM-riset/hellopod-np-svc/tcp/')
    // nat-prerouting → services → (vmap @service-ips) → service-… → (numgen vmap) → endpoint-… → mark-for-masquerade
    const reach = nftChainReachability(rs)
    const ep = reach.find((r) => r.chain === 'endpoint-VNXJG24O-riset/hellopod-np-svc/tcp/__10.42.2.218/8080')!
    expect(ep.reachedFrom.map((x) => x.path.join(' > '))).toEqual([
      'nat-prerouting > services > service-P6J77WGM-riset/hellopod-np-svc/tcp/ > endpoint-VNXJG24O-riset/hellopod-np-svc/tcp/__10.42.2.218/8080',
      'nat-output > services > service-P6J77WGM-riset/hellopod-np-svc/tcp/ > endpoint-VNXJG24O-riset/hellopod-np-svc/tcp/__10.42.2.218/8080',
    ])
    expect(reach.find((r) => r.chain === 'mark-for-masquerade')!.reachedFrom.map((x) => x.builtin)).toEqual(['nat-prerouting', 'nat-output'])
    expect(rulesOf(rs, 'kube-proxy', 'cluster-ips-check')[0]!.comment).toBe('Reject traffic to invalid ports of ClusterIPs')
  })

  it('k0s kube-router (iptables-nft): tables with xt are read through iptables-save; the empty mangle table too', () => {
    const rs = parseNftJson(testdata('marks/nft/k0s-1.34-kube-router-iptables-nft.nft.json')).facts
    expect(rs.tables.map((t) => [t.family, t.name, t.owner, t.readThrough, t.xtCount])).toEqual([
      ['ip', 'mangle', 'iptables-nft', 'iptables-save', 0],
      ['ip', 'nat', 'iptables-nft', 'iptables-save', 4],
      ['ip', 'filter', 'iptables-nft', 'iptables-save', 6],
    ])
    expect(tableOf(rs, 'ip', 'mangle').ownerReason).toBe('iptables table name "mangle" with no base chains')
    const post = rulesOf(rs, 'nat', 'POSTROUTING')[1]!
    expect(post.xt).toEqual([
      {type: 'match', name: 'set'},
      {type: 'match', name: 'set'},
      {type: 'match', name: 'set'},
      {type: 'target', name: 'MASQUERADE'},
    ])
    expect(post.expr).toContainEqual({counter: {packets: 8, bytes: 485}})
    // loaded natively by `nft -f`, kube-router's mark rules are structured here (on the node they were xt MARK)
    const fw = rulesOf(rs, 'filter', 'KUBE-POD-FW-A7GHKP2J34Z5Y7ZZ')
    expect(fw.flatMap((r) => r.markWrites.map((w) => w.op))).toEqual([
      {kind: 'bitwise', target: 'packet', source: 'packet', and: 0xfffeffff, xor: 0},
      {kind: 'bitwise', target: 'packet', source: 'packet', and: 0xfffdffff, xor: 0x20000},
    ])
    expect(fw[4]!.markMatches).toEqual([{on: 'packet', op: '!=', mark: {value: 0x10000, mask: 0x10000}, right: 0x10000}])
    expect(nftTablesToEvaluate(rs, [])).toEqual([])
  })

  it('calico (iptables-nft): xt set matches and xt MARK targets counted; -m addrtype stays xt (nft text shows it as fib)', () => {
    const rs = parseNftJson(testdata('marks/nft/calico-3.30-ingress-nginx-controller-iptables-nft.nft.json')).facts
    expect(rs.tables.map((t) => [t.name, t.owner, t.readThrough])).toEqual([
      ['mangle', 'iptables-nft', 'iptables-save'],
      ['filter', 'iptables-nft', 'iptables-save'],
      ['nat', 'iptables-nft', 'iptables-save'],
      ['raw', 'iptables-nft', 'iptables-save'],
    ])
    const po = rulesOf(rs, 'filter', 'cali-po-_YYnSgB46MA1TYU44kJq')[0]!
    expect(po.xt).toEqual([
      {type: 'match', name: 'set'},
      {type: 'target', name: 'MARK'},
    ])
    expect(po.markWrites).toEqual([]) // opaque: the value is only in iptables-save
    const out = rulesOf(rs, 'filter', 'cali-OUTPUT')[2]!
    // `nft list` printed this rule as `udp dport 4789 fib saddr type local xt match set …`: nft translates xt
    // addrtype for text output only; the JSON shows what the kernel holds
    expect(out.xt).toEqual([
      {type: 'match', name: 'addrtype'},
      {type: 'match', name: 'set'},
    ])
    expect(out.verdict).toEqual({kind: 'accept'})
  })

  it('hand-written native edge cases: every mark form nft 1.0.6 prints', () => {
    const rs = parseNftJson(testdata('marks/nft/edge-native-marks.nft.json')).facts
    const t = tableOf(rs, 'inet', 'ni-marks')
    expect(t).toMatchObject({owner: 'nft', readThrough: 'nft'})
    const pre = rulesOf(rs, 'ni-marks', 'prerouting')
    const mm = pre.map((r) => r.markMatches.map((m) => [m.on, m.op, m.mark]))
    expect(mm).toEqual([
      [['packet', '==', {value: 0x4000, mask: 0xffffffff}]], // flannel's whole-mark compare
      [['packet', '==', {value: 0x4000, mask: 0x4000}]],
      [['packet', '==', {value: 0, mask: 0x4000}]],
      [['packet', '!=', {value: 0x539, mask: 0xffffffff}]],
      [['packet', '!=', {value: 0x200, mask: 0xf00}]],
      [['conntrack', '==', {value: 0x111, mask: 0xfff}]],
      [['packet', '==', undefined]], // @skip-marks: a set, no single value
      [['packet', '==', undefined]], // a range
      [['packet', 'vmap', undefined]],
      [['packet', 'vmap', undefined]],
    ])
    expect(pre[0]!.comment).toBe('flannel nftables: whole-mark compare')
    expect(pre[5]!.markWrites.map((w) => w.op)).toEqual([{kind: 'bitwise', target: 'packet', source: 'conntrack', and: 0xffffffff, xor: 0}])
    expect(pre[8]!.verdict).toEqual({kind: 'vmap', map: '@mark-dispatch', targets: ['to-proxy', 'from-proxy']})
    expect(pre[9]!.verdict).toEqual({kind: 'vmap', targets: ['from-proxy']})
    const ops = rulesOf(rs, 'ni-marks', 'output').map((r) => r.markWrites.map((w) => w.op ?? 'unresolved'))
    const B = (target: 'packet' | 'conntrack', source: 'packet' | 'conntrack', and: number, xor: number): MarkOp => ({kind: 'bitwise', target, source, and, xor})
    expect(ops).toEqual([
      [{kind: 'set', target: 'packet', value: 0x10}],
      [B('packet', 'packet', 0xffffbfff, 0x4000)],
      [B('packet', 'packet', 0xfffeffff, 0)],
      [B('packet', 'packet', 0xffffffff, 0x4000)],
      [B('packet', 'packet', 0xffff0000, 0x4000)], // mark and 0xffff0000 or 0x4000, folded by nft to & 0xffff4000 | 0x4000
      [B('packet', 'packet', 0xffff0000, 0x1234)], // mark and 0xffff0000 xor 0x1234, printed by nft as & 0xffff1234 | 0x1234
      [B('packet', 'conntrack', 0xffffffff, 0)],
      [B('packet', 'conntrack', 0x80, 0)], // AWS VPC CNI nftables backend: wipes every other bit
      [B('conntrack', 'packet', 0xffffffff, 0)],
      [B('conntrack', 'packet', 0xff, 0)],
      [B('conntrack', 'conntrack', 0xffffff7f, 0x80)],
      [{kind: 'set', target: 'conntrack', value: 0x111}],
      ['unresolved'], // meta mark set tcp dport map { … }
    ])
    const reach = nftChainReachability(rs)
    const from = (chain: string) => reach.find((r) => r.chain === chain)!.reachedFrom.map((x) => x.path.join(' > '))
    expect(from('to-proxy')).toEqual(['prerouting > to-proxy'])
    expect(from('classify')).toEqual(['prerouting > classify'])
    expect(from('unreachable')).toEqual([])
    expect(rulesOf(rs, 'ni-nat', 'postrouting')[0]!.markMatches[0]!.mark).toEqual({value: 0, mask: 0x4000})
  })
})

describe('nftTablesToEvaluate: which tables an evaluator reads from nft', () => {
  it('native tables, plus iptables-nft tables that iptables-save called incompatible', () => {
    const rs = parseNftJson(testdata('marks/nft/k0s-1.34-kube-router-iptables-nft.nft.json')).facts
    const native = parseNftJson(testdata('marks/nft/k3s-kube-proxy-nftables-mode-table.nft.json')).facts
    const both: NftRuleset = {...rs, tables: [...rs.tables, ...native.tables]}
    const xt = parseIptablesSave("# Table `filter' is incompatible, use 'nft' tool.\n*nat\nCOMMIT\n", {family: 'ipv4', backend: 'nft'}).facts
    expect(nftTablesToEvaluate(both, [xt]).map((t) => `${t.family} ${t.name}`)).toEqual(['ip filter', 'ip kube-proxy'])
    const legacy = {...xt, backend: 'legacy' as const}
    expect(nftTablesToEvaluate(both, [legacy]).map((t) => `${t.family} ${t.name}`)).toEqual(['ip kube-proxy'])
  })
})

describe('parseNftJson: schema checks and malformed input', () => {
  const meta = {metainfo: {version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1}}
  const doc = (...items: unknown[]) => JSON.stringify({nftables: [meta, ...items]})
  const cases: Array<[string, string, RegExp]> = [
    ['empty output', '', /empty output/],
    ['not JSON', '{"nftables": [', /not valid JSON/],
    ['no nftables list', '{"foo": 1}', /expected \{"nftables": \[\.\.\.\]\}/],
    ['schema version 2', JSON.stringify({nftables: [{metainfo: {version: '9.9', json_schema_version: 2}}]}), /json_schema_version 2: this parser knows version 1 only/],
    ['no metainfo', JSON.stringify({nftables: []}), /no metainfo object/],
    ['unknown object', doc({frobnicator: {}}), /nftables\[1\]: unknown object "frobnicator"/],
    ['table without name', doc({table: {family: 'ip'}}), /nftables\[1\]: table without family or name/],
    ['chain of an unlisted table', doc({chain: {family: 'ip', table: 'nope', name: 'c'}}), /chain of an unlisted table ip nope/],
    ['rule of an unlisted chain', doc({table: {family: 'ip', name: 't'}}, {rule: {family: 'ip', table: 't', chain: 'c', expr: []}}), /rule of an unlisted chain ip t c/],
    ['rule without expr', doc({table: {family: 'ip', name: 't'}}, {chain: {family: 'ip', table: 't', name: 'c'}}, {rule: {family: 'ip', table: 't', chain: 'c'}}), /rule without an expr list/],
    ['base chain without prio', doc({table: {family: 'ip', name: 't'}}, {chain: {family: 'ip', table: 't', name: 'c', type: 'filter', hook: 'input'}}), /base chain c without a numeric prio/],
    ['non-object element', doc(42), /nftables\[1\]: not an object/],
    ['table listed twice', doc({table: {family: 'ip', name: 't'}}, {table: {family: 'ip', name: 't'}}), /table ip t listed twice/],
  ]
  it.each(cases)('%s', (_n, text, message) => {
    expect(parseNftJson(text).problems).toContainEqual(expect.objectContaining({message: expect.stringMatching(message)}))
  })

  it('known non-rule objects (counters, flowtables, …) are ignored without a problem', () => {
    const p = parseNftJson(doc({table: {family: 'inet', name: 't'}}, {counter: {family: 'inet', table: 't', name: 'c', packets: 0, bytes: 0}}, {flowtable: {family: 'inet', table: 't', name: 'f'}}))
    expect(p.problems).toEqual([])
  })

  it('a table with an iptables name but a native base chain stays native (an admin\'s own `table ip filter`)', () => {
    const p = parseNftJson(doc({table: {family: 'ip', name: 'filter'}}, {chain: {family: 'ip', table: 'filter', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'drop'}}))
    expect(p.facts.tables[0]).toMatchObject({owner: 'nft', readThrough: 'nft'})
  })

  it('ebtables-nft and ip6tables-nft tables point at their own save tools', () => {
    const xtRule = (family: string, table: string, chain: string) => ({rule: {family, table, chain, expr: [{xt: {type: 'target', name: 'mark'}}]}})
    const p = parseNftJson(
      doc(
        {table: {family: 'bridge', name: 'filter'}},
        {chain: {family: 'bridge', table: 'filter', name: 'FORWARD', type: 'filter', hook: 'forward', prio: -200}},
        xtRule('bridge', 'filter', 'FORWARD'),
        {table: {family: 'ip6', name: 'mangle'}},
        {chain: {family: 'ip6', table: 'mangle', name: 'OUTPUT', type: 'route', hook: 'output', prio: -150}},
        xtRule('ip6', 'mangle', 'OUTPUT'),
      ),
    )
    expect(p.problems).toEqual([])
    expect(p.facts.tables.map((t) => [t.family, t.owner, t.readThrough])).toEqual([
      ['bridge', 'ebtables-nft', 'ebtables-save'],
      ['ip6', 'iptables-nft', 'ip6tables-save'],
    ])
  })

  it('folds mark expressions in either operand order and leaves shifts unresolved', () => {
    const write = (value: unknown) =>
      parseNftJson(doc({table: {family: 'inet', name: 't'}}, {chain: {family: 'inet', table: 't', name: 'c'}}, {rule: {family: 'inet', table: 't', chain: 'c', expr: [{mangle: {key: {meta: {key: 'mark'}}, value}}]}})).facts.tables[0]!.chains[0]!.rules[0]!.markWrites[0]!
    expect(write({'|': [16384, {meta: {key: 'mark'}}]}).op).toEqual({kind: 'bitwise', target: 'packet', source: 'packet', and: 0xffffbfff, xor: 0x4000})
    expect(write('0x10').op).toEqual({kind: 'set', target: 'packet', value: 0x10})
    expect(write({'&': [{ct: {key: 'mark'}}, 0]}).op).toEqual({kind: 'set', target: 'packet', value: 0})
    expect(write({'>>': [{ct: {key: 'mark'}}, 8]}).op).toBeUndefined()
  })
})

describe('collectNftRuleset', () => {
  it('runs nft -j list ruleset with a long timeout', async () => {
    const seen: RunRequest[] = []
    const out: RawOutput = {argv: [], stdout: '', stderr: '', exitCode: 0, durationMs: 1}
    const src: Source = {meta: {kind: 'snapshot'}, run: async (req) => (seen.push(req), out)}
    expect(await collectNftRuleset(src)).toBe(out)
    expect(seen).toEqual([{argv: NFT_LIST_RULESET_ARGV, timeoutMs: 60_000}])
  })
})
