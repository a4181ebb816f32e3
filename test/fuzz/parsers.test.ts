// Property-based fuzzing of every exported parseX of src/probes/ (and `ip route get`'s reader, which a snapshot
// feeds too): on mutated real captures, structurally edited JSON, and JSON built from the parser's own keys, a
// parser never throws, answers within LIMIT_MS, and returns facts of its declared shape with problems that point
// inside the input. kit.ts says how to replay a failure and how to run the long mode (npm run fuzz).
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {parseRouteGet} from '../../src/probes/ip-route-get.js'
import {parseBpfHelperQuery} from '../../src/probes/bpf-helper.js'
import {parseBpfHelperProgDump} from '../../src/probes/bpf-helper-prog-dump.js'
import {parseBpfHelperNftTables} from '../../src/probes/bpf-helper-nft-tables.js'
import {parseBpftoolLinkJson} from '../../src/probes/bpftool-link.js'
import {parseBpftoolNetJson, parseBpftoolNetText} from '../../src/probes/bpftool-net.js'
import {parseBpftoolProgJson, parseBpftoolProgText} from '../../src/probes/bpftool-prog.js'
import {parseBpftoolXlatedDumps, parseBpftoolXlatedJson, parseBpftoolXlatedPrograms, parseBpftoolXlatedText, type XlatedRaw} from '../../src/probes/bpftool-xlated.js'
import {parseBridgeFdbJson} from '../../src/probes/bridge-fdb.js'
import {parseBridgeVlanJson} from '../../src/probes/bridge-vlan.js'
import {parseBtfStructOffsets, parseSkBuffLayout, SK_BUFF_FIELDS} from '../../src/probes/btf-sk-buff.js'
import {parseCiliumIpcacheDump} from '../../src/datapaths/cilium/ipcache.js'
import {parseCiliumLxcDump} from '../../src/datapaths/cilium/lxc.js'
import {CILIUM_MAP_NAMES} from '../../src/datapaths/cilium/map-names.js'
import {parseCiliumTunnelDump} from '../../src/datapaths/cilium/tunnel-map.js'
import {parseBpftoolMapShow, parseProgArrayDump, type DumpedMap} from '../../src/probes/bpftool-map.js'
import {ipToBytes} from '../../src/util/ip.js'
import {parseAllNetnsAddresses, parseAllNetnsRoutes} from '../../src/probes/ip-netns-all.js'
import {parseIpNetnsListId} from '../../src/probes/ip-netns.js'
import {parseIpLinkJson, parseIpLinkText} from '../../src/probes/ip-link.js'
import {parseIpNeighJson, parseIpRouteJson} from '../../src/probes/ip-route.js'
import {parseIpRuleJson, parseIpRuleText} from '../../src/probes/ip-rule.js'
import {parseIpXfrmPolicy, parseIpXfrmState} from '../../src/probes/ip-xfrm.js'
import {parseIpsetSave} from '../../src/probes/ipset.js'
import {parseIptablesSave, parseIptablesSaveForMarks, type IptablesSaveOptions} from '../../src/probes/iptables-save.js'
import {parseNftChainsJson, parseNftJson} from '../../src/probes/nft-ruleset.js'
import {parseJson} from '../../src/probes/parsed.js'
import type {Parsed} from '../../src/model/warning.js'
import {parseSkBuffLayoutJson} from '../../src/probes/sk-buff-layout.js'
import {parseSsSockets} from '../../src/probes/ss-marks.js'
import {parseTcFilterBatch, parseTcFilterText, type TcBatchCommand} from '../../src/probes/tc-filter.js'
import {parseToolVersions} from '../../src/probes/tool-versions.js'
import type {RawOutput} from '../../src/source/types.js'
import {btfCases, btfOf} from './btf.js'
import {check, expectParsed, expectProblems, jsonCases, jsonOf, keysOf, NASTY, RUNS, TEST_TIMEOUT, textCases, textOf, timed, vocabularyJson, WRONG, type FactsShape, type JsonCase, type Seed, type TextCase} from './kit.js'
import {docExamples, files, recorded, seeds} from './seeds.js'

/** One input: a mutated capture, a structurally edited JSON capture, or a document of the parser's keys. */
type Input = {t: 'text'; c: TextCase} | {t: 'json'; c: JsonCase} | {t: 'doc'; text: string}

const JSON_SEEDS = new WeakMap<readonly Seed[], Seed[]>()
/** The seeds that are JSON documents (structural edits start from these). */
function jsonSeeds(s: readonly Seed[]): Seed[] {
  let j = JSON_SEEDS.get(s)
  if (!j) {
    j = s.filter((x) => {
      try {
        JSON.parse(x.text)
        return true
      } catch {
        return false
      }
    })
    JSON_SEEDS.set(s, j)
  }
  return j
}

function inputs(s: readonly Seed[], json: boolean): fc.Arbitrary<Input> {
  const text = textCases(s).map((c): Input => ({t: 'text', c}))
  if (!json) return fc.oneof({arbitrary: text, weight: 9}, {arbitrary: fc.string({unit: 'binary', maxLength: 200}).map((x): Input => ({t: 'doc', text: x})), weight: 1})
  const js = jsonSeeds(s)
  return fc.oneof(
    {arbitrary: text, weight: 4},
    ...(js.length > 0 ? [{arbitrary: jsonCases(js).map((c): Input => ({t: 'json', c})), weight: 4}] : []),
    {arbitrary: vocabularyJson(keysOf(s)).map((x): Input => ({t: 'doc', text: x})), weight: 2},
  )
}

function textOfInput(s: readonly Seed[], i: Input): string {
  if (i.t === 'text') return textOf(s, i.c)
  if (i.t === 'json') return jsonOf(jsonSeeds(s), i.c)
  return i.text
}

/** A parser of one text (plus arguments drawn by `extra`), fuzzed on `seeds`. */
interface Spec<E> {
  name: string
  seeds: Seed[]
  json: boolean
  shape: FactsShape
  extra?: fc.Arbitrary<E>
  run: (text: string, extra: E) => Parsed<unknown>
}

const family = fc.constantFrom('ipv4' as const, 'ipv6' as const)
const dumpedMap: fc.Arbitrary<DumpedMap | undefined> = fc.option(
  fc.record(
    {
      name: fc.constantFrom(...CILIUM_MAP_NAMES, 'cilium_ipcache_v', ''),
      keySize: fc.oneof(fc.constantFrom(4, 8, 12, 20, 24, 48), fc.integer({min: -1, max: 300})),
      valueSize: fc.oneof(fc.constantFrom(4, 8, 12, 20, 24, 48), fc.integer({min: -1, max: 300})),
      id: fc.nat(),
    },
    {requiredKeys: ['name', 'keySize', 'valueSize']},
  ),
  {nil: undefined},
)
const xtOpts: fc.Arbitrary<IptablesSaveOptions> = fc.record(
  {family, backend: fc.constantFrom('nft' as const, 'legacy' as const), table: fc.constantFrom('filter', 'nat', 'mangle', 'raw', 'security', 'x'), stderr: fc.oneof(fc.constant('# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n'), NASTY)},
  {requiredKeys: ['family', 'backend']},
)

const ciliumDumps = seeds(files('cilium-maps', (n) => n.endsWith('.json')), recorded('bpftool -j map dump'), docExamples('src/probes/bpftool-map.ts'), docExamples('src/datapaths/cilium/ipcache.ts'), docExamples('src/datapaths/cilium/lxc.ts'))
const xtSeeds = seeds(
  files('fixtures/iptables-save'),
  files('marks/iptables-save', (n) => n.endsWith('.txt')),
  files('marks-analysis'),
  files('netfilter-eval', (n) => n.endsWith('.iptables-save')),
  recorded('iptables-save'),
  recorded('ip6tables-save'),
)
const xlatedJson = seeds(files('bpf/xlated', (n) => n.endsWith('.json')))
const routeSeeds = seeds(recorded('ip -j -4 route show'), recorded('ip -j -6 route show'), docExamples('src/probes/ip-route.ts'))
const addrSeeds = seeds(recorded('ip -j -d addr show'))

const SPECS: Array<Spec<any>> = [
  {name: 'parseBpfHelperQuery', seeds: seeds(recorded('nodeinspect-bpf query'), docExamples('src/probes/bpf-helper.ts')), json: true, shape: 'object', run: (t) => parseBpfHelperQuery(t)},
  {name: 'parseBpfHelperProgDump', seeds: seeds(files('bpf/prog-dump', (n) => n === 'helper.json'), recorded('nodeinspect-bpf prog-dump'), docExamples('src/probes/bpf-helper-prog-dump.ts')), json: true, shape: 'object', run: (t) => parseBpfHelperProgDump(t)},
  {name: 'parseBpftoolLinkJson', seeds: seeds(recorded('bpftool -j link show'), docExamples('src/probes/bpftool-link.ts')), json: true, shape: 'array', run: (t) => parseBpftoolLinkJson(t)},
  {name: 'parseBpftoolNetText', seeds: seeds(files('fixtures/bpftool-net', (n) => n.endsWith('.txt'))), json: false, shape: 'object', run: (t) => parseBpftoolNetText(t)},
  {name: 'parseBpftoolNetJson', seeds: seeds(files('fixtures/bpftool-net', (n) => n.endsWith('.json')), recorded('bpftool -j net show')), json: true, shape: 'object', run: (t) => parseBpftoolNetJson(t)},
  {name: 'parseBpftoolProgJson', seeds: seeds(recorded('bpftool -j prog show'), docExamples('src/probes/bpftool-prog.ts')), json: true, shape: 'array', run: (t) => parseBpftoolProgJson(t)},
  {name: 'parseBpftoolProgText', seeds: seeds(files('fixtures/bpftool-prog')), json: false, shape: 'array', run: (t) => parseBpftoolProgText(t)},
  {name: 'parseBpftoolXlatedPrograms', seeds: xlatedJson, json: true, shape: 'array', run: (t) => parseBpftoolXlatedPrograms(t)},
  {name: 'parseBpftoolXlatedJson', seeds: xlatedJson, json: true, shape: 'array', run: (t) => parseBpftoolXlatedJson(t)},
  {name: 'parseBpftoolXlatedText', seeds: seeds(files('bpf/xlated', (n) => n.endsWith('.txt'))), json: false, shape: 'array', run: (t) => parseBpftoolXlatedText(t)},
  {name: 'parseBridgeFdbJson', seeds: seeds(recorded('bridge -j fdb show'), docExamples('src/probes/bridge-fdb.ts')), json: true, shape: 'array', run: (t) => parseBridgeFdbJson(t)},
  // Unparseable output leaves the VLANs unread (undefined facts, with a problem), not "no VLANs": shown as [] here.
  {name: 'parseBridgeVlanJson', seeds: seeds(recorded('bridge -j vlan show'), docExamples('src/probes/bridge-vlan.ts')), json: true, shape: 'array', run: (t) => {
    const p = parseBridgeVlanJson(t)
    return {facts: p.facts ?? [], problems: p.problems}
  }},
  {name: 'parseBpftoolMapShow', seeds: seeds(recorded('bpftool -j map show')), json: true, shape: 'array', run: (t) => parseBpftoolMapShow(t)},
  {name: 'parseCiliumIpcacheDump', seeds: ciliumDumps, json: true, shape: 'array', extra: dumpedMap, run: (t, m) => parseCiliumIpcacheDump(t, m)},
  {name: 'parseCiliumLxcDump', seeds: ciliumDumps, json: true, shape: 'array', extra: dumpedMap, run: (t, m) => parseCiliumLxcDump(t, m)},
  {name: 'parseCiliumTunnelDump', seeds: ciliumDumps, json: true, shape: 'array', extra: dumpedMap, run: (t, m) => parseCiliumTunnelDump(t, m)},
  {name: 'parseProgArrayDump', seeds: ciliumDumps, json: true, shape: 'array', extra: dumpedMap, run: (t, m) => parseProgArrayDump(t, m)},
  {name: 'parseIpLinkText', seeds: seeds(files('fixtures/ip-link')), json: false, shape: 'array', run: (t) => parseIpLinkText(t)},
  {name: 'parseIpLinkJson', seeds: addrSeeds, json: true, shape: 'array', run: (t) => parseIpLinkJson(t)},
  {name: 'parseAllNetnsAddresses', seeds: seeds(recorded('ip -all netns exec ip -j addr show'), addrSeeds.map((s) => ({name: s.name, text: `netns: a\n${s.text}netns: b\n${s.text}`}))), json: false, shape: 'map', run: (t) => parseAllNetnsAddresses(t)},
  {name: 'parseAllNetnsRoutes', seeds: seeds(routeSeeds.map((s) => ({name: s.name, text: `netns: cni-1\n${s.text}\nnetns: cni-2\n${s.text}`}))), json: false, shape: 'map', run: (t) => parseAllNetnsRoutes(t)},
  {name: 'parseIpNetnsListId', seeds: seeds(recorded('ip -j netns list-id'), docExamples('src/probes/ip-netns.ts')), json: true, shape: 'map', run: (t) => parseIpNetnsListId(t)},
  {name: 'parseIpRouteJson', seeds: routeSeeds, json: true, shape: 'array', extra: family, run: (t, f) => parseIpRouteJson(t, f)},
  {name: 'parseIpNeighJson', seeds: seeds(recorded('ip -j neigh show'), docExamples('src/probes/ip-route.ts')), json: true, shape: 'array', run: (t) => parseIpNeighJson(t)},
  {name: 'parseIpRuleText', seeds: seeds(files('fixtures/ip-rule')), json: false, shape: 'array', extra: family, run: (t, f) => parseIpRuleText(t, f)},
  {name: 'parseIpRuleJson', seeds: seeds(recorded('ip -j -4 rule show'), recorded('ip -j -6 rule show')), json: true, shape: 'array', extra: family, run: (t, f) => parseIpRuleJson(t, f)},
  {name: 'parseIpXfrmState', seeds: seeds(files('marks/ip-xfrm', (n) => n.endsWith('state.txt')), recorded('ip xfrm state')), json: false, shape: 'array', run: (t) => parseIpXfrmState(t)},
  {name: 'parseIpXfrmPolicy', seeds: seeds(files('marks/ip-xfrm', (n) => n.endsWith('policy.txt')), recorded('ip xfrm policy')), json: false, shape: 'array', run: (t) => parseIpXfrmPolicy(t)},
  {name: 'parseIpsetSave', seeds: seeds(recorded('ipset save'), docExamples('src/probes/ipset.ts').map((s) => ({name: s.name, text: s.text.split(' / ').join('\n')}))), json: false, shape: 'map', run: (t) => parseIpsetSave(t)},
  {name: 'parseIptablesSaveForMarks', seeds: xtSeeds, json: false, shape: 'object', extra: xtOpts, run: (t, o) => parseIptablesSaveForMarks(t, o)},
  {name: 'parseIptablesSave', seeds: xtSeeds, json: false, shape: 'object', extra: xtOpts, run: (t, o) => parseIptablesSave(t, o)},
  {name: 'parseBpfHelperNftTables', seeds: seeds(files('nft-tables', (n) => n === 'helper.json'), recorded('nodeinspect-bpf nft-tables'), docExamples('src/probes/bpf-helper-nft-tables.ts')), json: true, shape: 'object', run: (t) => parseBpfHelperNftTables(t)},
  {name: 'parseNftChainsJson', seeds: seeds(recorded('nft -j list chains')), json: true, shape: 'array', run: (t) => parseNftChainsJson(t)},
  {name: 'parseNftJson', seeds: seeds(files('marks/nft', (n) => n.endsWith('.nft.json')), files('netfilter-eval', (n) => n.endsWith('.nft.json')), recorded('nft -j list table')), json: true, shape: 'object', run: (t) => parseNftJson(t)},
  {name: 'parseSkBuffLayoutJson', seeds: seeds(recorded('nodeinspect-internal sk-buff-layout'), docExamples('src/probes/sk-buff-layout.ts')), json: true, shape: 'object', run: (t) => parseSkBuffLayoutJson(t)},
  {name: 'parseSsSockets', seeds: seeds(recorded('ss '), docExamples('src/probes/ss-marks.ts')), json: false, shape: 'array', run: (t) => parseSsSockets(t)},
  {name: 'parseTcFilterText', seeds: seeds(files('fixtures/tc-filter')), json: false, shape: 'object', extra: fc.tuple(fc.constantFrom('lxc5869b5857a3d', 'eth0', ''), fc.constantFrom('ingress' as const, 'egress' as const)), run: (t, [d, dir]) => parseTcFilterText(t, d, dir)},
]

describe(`fuzz: every probe parser (${RUNS} cases each)`, () => {
  for (const s of SPECS) {
    it(`${s.name} never throws, answers within the limit, and its problems point inside the input`, () => {
      const arb = s.extra ? fc.tuple(inputs(s.seeds, s.json), s.extra) : fc.tuple(inputs(s.seeds, s.json), fc.constant(undefined))
      check(arb, ([i, e]) => {
        const text = textOfInput(s.seeds, i)
        const r = timed(() => s.run(text, e))
        expectParsed(r, text, s.shape)
      })
    }, TEST_TIMEOUT)
  }

  it('parseJson returns a value or one problem, never both, never throws', () => {
    const all = seeds(xlatedJson, ciliumDumps, routeSeeds, recorded('nft -j list chains'))
    check(inputs(all, true), (i) => {
      const text = textOfInput(all, i)
      const r = timed(() => parseJson('p', text))
      expect('value' in r !== 'problem' in r).toBe(true)
      if (r.problem) expectProblems([r.problem], text)
    })
  }, TEST_TIMEOUT)

  it('ipToBytes returns bytes of the family length or nothing', () => {
    const addr = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({maxLength: 50}))
    check(fc.tuple(addr, fc.array(fc.record({at: fc.nat(), s: NASTY}), {maxLength: 2})), ([a, ins]) => {
      const s = ins.reduce((x, {at, s: y}) => x.slice(0, at % (x.length + 1)) + y + x.slice(at % (x.length + 1)), a)
      const r = timed(() => ipToBytes(s))
      if (r) expect(r.bytes.length).toBe(r.family === 'ipv4' ? 4 : 16)
    })
  }, TEST_TIMEOUT)

  it('parseRouteGet (ip -j route get, replayed from snapshots) never throws', () => {
    const s = seeds(recorded('ip -n '), docExamples('src/probes/ip-route-get.ts'))
    check(inputs(s, true), (i) => {
      const text = textOfInput(s, i)
      const r = timed(() => parseRouteGet(text))
      if (r) expect(typeof r.type).toBe('string')
    })
  }, TEST_TIMEOUT)

  it('parseBtfStructOffsets and parseSkBuffLayout on raw BTF never throw; offsets are whole bytes', () => {
    const names = fc.oneof(fc.constantFrom('sk_buff', '', 'x'), fc.string({maxLength: 8}))
    check(fc.tuple(btfCases, names, fc.array(fc.constantFrom(...SK_BUFF_FIELDS, '', 'headers'), {maxLength: 7})), ([c, name, fields]) => {
      const buf = btfOf(c)
      for (const r of [timed(() => parseSkBuffLayout(buf)), timed(() => parseBtfStructOffsets(buf, name, fields))]) {
        expectProblems(r.problems, '')
        for (const v of Object.values(r.facts)) expect(Number.isInteger(v.offsetBytes) && v.offsetBytes >= 0).toBe(true)
      }
    })
  }, TEST_TIMEOUT)

  it('parseTcFilterBatch never throws on mutated batch answers and stderr', () => {
    const rec = recorded('tc -j -force -batch -')
    const cmdsOf = (input: string): TcBatchCommand[] =>
      input
        .split('\n')
        .map((l) => /^filter show dev (\S+) (ingress|egress)$/.exec(l))
        .filter((m) => m !== null)
        .map((m) => ({devname: m[1]!, direction: m[2] as 'ingress' | 'egress'}))
    const stderr = fc.oneof(fc.constant(''), fc.array(fc.integer({min: -1, max: 40}), {maxLength: 4}).map((ns) => ns.map((n) => `Error: Cannot find device.\nCommand failed -:${n}\n`).join('')), NASTY)
    check(fc.tuple(inputs(rec, true), stderr, fc.nat({max: rec.length - 1}), fc.integer({min: -2, max: 2})), ([i, err, which, extraCmds]) => {
      const text = textOfInput(rec, i)
      let cmds = cmdsOf(rec[which]!.output.input ?? '')
      if (extraCmds > 0) cmds = [...cmds, ...cmds.slice(0, extraCmds)]
      else if (extraCmds < 0) cmds = cmds.slice(0, extraCmds)
      const r = timed(() => parseTcFilterBatch(text, err, cmds))
      expectParsed(r, text + err, 'object')
    })
  }, TEST_TIMEOUT)

  it('parseBpftoolXlatedDumps never throws on mutated dumps, failures and id lists', () => {
    const raw: fc.Arbitrary<{i: Input; ids: number[]; failure: RawOutput['failure'] | undefined; message: unknown}> = fc.record({
      i: inputs(xlatedJson, true),
      ids: fc.array(fc.oneof(fc.nat({max: 200}), fc.integer()), {maxLength: 3}),
      failure: fc.option(fc.constantFrom('missing-binary' as const, 'permission' as const, 'timeout' as const, 'exit' as RawOutput['failure'], 'not-recorded' as RawOutput['failure']), {nil: undefined, freq: 4}),
      message: fc.option(WRONG, {nil: undefined}),
    })
    check(fc.array(raw, {maxLength: 4}), (rs) => {
      const raws: XlatedRaw[] = rs.map((r) => {
        const output: RawOutput = {argv: ['bpftool', '-j', 'prog', 'dump', 'xlated', 'id', String(r.ids[0])], stdout: textOfInput(xlatedJson, r.i), stderr: '', exitCode: 0, durationMs: 0}
        if (r.failure) output.failure = r.failure
        if (r.message !== undefined) output.message = r.message as string
        return {ids: r.ids, output}
      })
      const d = timed(() => parseBpftoolXlatedDumps(raws))
      expect(Array.isArray(d.programs) && Array.isArray(d.warnings)).toBe(true)
      expectProblems(d.problems, raws.map((r) => r.output.stdout).join('\n'))
    })
  }, TEST_TIMEOUT)

  it('parseToolVersions never throws and gives one trimmed line per tool that answered', () => {
    const rec = [...recorded('bpftool version'), ...recorded('ip -V'), ...recorded('tc -V'), ...recorded('iptables --version'), ...recorded('nft --version'), ...recorded('nodeinspect-bpf version')]
    const out = fc.record({stdout: fc.oneof(textCases(rec).map((c) => textOf(rec, c)), NASTY), stderr: fc.oneof(fc.constant(''), NASTY), failure: fc.option(fc.constant('exit' as RawOutput['failure']), {nil: undefined})})
    check(fc.dictionary(fc.constantFrom('bpftool', 'ip', 'tc', 'iptables', 'nft', 'nodeinspect-bpf', '__proto__', 'constructor'), out, {maxKeys: 6}), (outs) => {
      const raw: Record<string, RawOutput> = {}
      for (const [k, o] of Object.entries(outs)) raw[k] = {argv: [k], exitCode: 0, durationMs: 0, ...o}
      const v = timed(() => parseToolVersions(raw))
      for (const line of Object.values(v)) expect(line === line.trim() && !line.includes('\n') && line !== '').toBe(true)
    })
  }, TEST_TIMEOUT)
})
