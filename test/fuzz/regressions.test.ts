// What the fuzzers found, each as its shrunk counterexample (nesting made deeper than the fuzzer needed inside
// fast-check's own stack, so it overflows from any caller). Every case threw before its fix.
import {describe, expect, it} from 'vitest'
import {parseBpfHelperQuery} from '../../src/probes/bpf-helper.js'
import {parseBpftoolLinkJson} from '../../src/probes/bpftool-link.js'
import {parseBpftoolNetJson} from '../../src/probes/bpftool-net.js'
import {parseBpftoolProgJson} from '../../src/probes/bpftool-prog.js'
import {parseBpftoolXlatedJson} from '../../src/probes/bpftool-xlated.js'
import {parseCiliumIpcacheDump} from '../../src/datapaths/cilium/ipcache.js'
import {parseBpftoolMapShow} from '../../src/probes/bpftool-map.js'
import {parseIpLinkJson} from '../../src/probes/ip-link.js'
import {parseIpNeighJson, parseIpRouteJson} from '../../src/probes/ip-route.js'
import {parseIpRuleJson} from '../../src/probes/ip-rule.js'
import {parseNftJson} from '../../src/probes/nft-ruleset.js'
import {MAX_JSON_DEPTH, rawJson} from '../../src/probes/parsed.js'
import {parseSkBuffLayoutJson} from '../../src/probes/sk-buff-layout.js'
import {parseTcFilterBatch} from '../../src/probes/tc-filter.js'

/** `v` inside `depth` arrays, as text. */
const nested = (depth: number, v = '1') => '['.repeat(depth) + v + ']'.repeat(depth)
/**
 * The fuzzers' counterexamples were thousands of levels deep; parseJson now refuses anything past MAX_JSON_DEPTH
 * (256) as one problem, checked below. Just under that limit, the code paths the fixes touched (problem text cut
 * at 16 levels, String() of nested arrays) are still reached, and still must not throw.
 */
const DEEP = MAX_JSON_DEPTH - 8

describe('fuzz regressions: deeply nested JSON in a problem\'s raw text (RangeError from JSON.stringify)', () => {
  // Counterexample: the whole capture wrapped ~4090 arrays deep ({"path":[],"act":"wrap","depth":4097}).
  const cases: Array<[string, (t: string) => {problems: Array<{raw?: string}>}]> = [
    ['parseBpftoolProgJson', parseBpftoolProgJson],
    ['parseBpftoolXlatedJson', parseBpftoolXlatedJson],
    ['parseBpftoolMapShow', parseBpftoolMapShow],
    ['parseCiliumIpcacheDump', (t) => parseCiliumIpcacheDump(t)],
    ['parseIpLinkJson', parseIpLinkJson],
    ['parseIpRouteJson', (t) => parseIpRouteJson(t, 'ipv4')],
    ['parseIpRuleJson', (t) => parseIpRuleJson(t, 'ipv4')],
    ['parseNftJson', (t) => parseNftJson(`{"nftables":[${t}]}`)],
  ]
  for (const [name, parse] of cases) {
    it(`${name} reports the entry, cut to 200 characters`, () => {
      const r = parse(`[${nested(DEEP)}]`)
      const raw = r.problems.find((p) => p.raw !== undefined)?.raw
      expect(raw).toMatch(/^\[\[\[/)
      expect(raw!.length).toBeLessThanOrEqual(201)
    })
  }

  it('parseBpfHelperQuery names an unknown helper without overflowing', () => {
    expect(parseBpfHelperQuery(`{"helper":${nested(DEEP)}}`).problems[0]!.message).toMatch(/^unknown helper output \(helper \[\[\[/)
  })

  it('parseTcFilterBatch reports a bpf filter without a program id', () => {
    const r = parseTcFilterBatch(`[{"kind":"bpf","options":{"x":${nested(DEEP)}}}]`, '', [{devname: 'eth0', direction: 'ingress'}])
    expect(r.problems[0]!.message).toBe('bpf filter on eth0 ingress without a program id')
  })

  it('rawJson stops at 16 levels and about 200 characters, and writes scalars as JSON', () => {
    expect(rawJson(JSON.parse(nested(20)))).toBe(`${'['.repeat(16)}[…]${']'.repeat(16)}`)
    expect(rawJson({a: 'x'.repeat(500)}).length).toBeLessThanOrEqual(520)
    expect(rawJson({a: [1, null, true, 'é'], b: {}})).toBe('{"a":[1,null,true,"é"],"b":{}}')
    expect(rawJson(undefined)).toBe('undefined')
  })
})

describe('fuzz regressions: deeply nested arrays turned to text with String() (RangeError from Array.prototype.join)', () => {
  // Counterexample: one field of the first entry wrapped ~3150 arrays deep ({"path":[0,N],"act":"wrap","depth":3152}).
  it('parseIpLinkJson: flags and altnames', () => {
    const r = parseIpLinkJson(`[{"ifindex":1,"ifname":"lo","flags":[${nested(DEEP, '"UP"')}],"altnames":[${nested(DEEP)}]}]`)
    expect(r.facts[0]!.flags[0]).toMatch(/^\[\[\[/)
  })
  it('parseIpRouteJson: flags; parseIpNeighJson: state', () => {
    expect(parseIpRouteJson(`[{"dst":"10.0.0.0/8","flags":[${nested(DEEP)}]}]`, 'ipv4').facts[0]!.flags[0]).toMatch(/^\[\[\[/)
    expect(parseIpNeighJson(`[{"dst":"10.0.0.1","dev":"eth0","state":[${nested(DEEP)}]}]`).facts[0]!.state[0]).toMatch(/^\[\[\[/)
  })
  it('parseIpRuleJson: fwmark and goto', () => {
    const r = parseIpRuleJson(`[{"priority":9,"fwmark":${nested(DEEP)},"table":"main"},{"priority":10,"goto":${nested(DEEP)}}]`, 'ipv4')
    expect(r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^rule 0: bad fwmark "\[\[\[/), expect.stringMatching(/^rule 1: bad goto "\[\[\[/)])
  })
  it('parseBpftoolLinkJson: type; parseBpftoolNetJson: xdp mode', () => {
    expect(parseBpftoolLinkJson(`[{"id":1,"type":${nested(DEEP)}}]`).facts[0]!.type).toMatch(/^\[\[\[/)
    expect(parseBpftoolNetJson(`[{"xdp":[{"devname":"eth0","ifindex":2,"id":7,"mode":${nested(DEEP)}}]}]`).facts.attachments[0]!.xdpMode).toBe('unknown')
  })
  it('parseNftJson: set type, map and flags; table flags; chain devices', () => {
    const n = nested(DEEP, '"x"')
    const r = parseNftJson(`{"nftables":[{"table":{"family":"ip","name":"t","flags":[${n}]}},{"chain":{"family":"ip","table":"t","name":"c","type":"filter","hook":"ingress","prio":0,"dev":[${n}]}},{"map":{"family":"ip","table":"t","name":"m","type":[${n}],"map":[${n}],"flags":[${n}]}}]}`)
    expect(r.facts.tables.length).toBe(1)
  })
  it('parseBpfHelperQuery: an error entry', () => {
    const r = parseBpfHelperQuery(`{"helper":"nodeinspect-bpf","version":1,"errors":[{"devname":${nested(DEEP)},"attach_type":"tcx_ingress","errno":1}]}`)
    expect(r.problems[0]!.message).toMatch(/^\[\[\[.* tcx_ingress: 1$/)
  })
})

describe('fuzz regressions: 50,000 levels deep (the counterexamples as found)', () => {
  const parsers: Array<[string, (t: string) => {problems: Array<{message: string}>}]> = [
    ['parseBpftoolProgJson', parseBpftoolProgJson],
    ['parseBpftoolXlatedJson', parseBpftoolXlatedJson],
    ['parseIpLinkJson', parseIpLinkJson],
    ['parseIpRuleJson', (t) => parseIpRuleJson(t, 'ipv4')],
    ['parseBpftoolNetJson', parseBpftoolNetJson],
    ['parseBpfHelperQuery', parseBpfHelperQuery],
  ]
  for (const [name, parse] of parsers) {
    it(`${name}: one problem, the nesting named, no throw`, () => {
      const r = parse(`[${nested(50_000)}]`)
      expect(r.problems.some((p) => /nested deeper than 256 levels/.test(p.message))).toBe(true)
    })
  }
})

describe('fuzz regressions: null where an object was expected (TypeError)', () => {
  it('parseBpftoolNetJson: {"xdp":[null]} (shrunk counterexample), and null tc / flow_dissector entries', () => {
    expect(parseBpftoolNetJson('{"xdp":[null]}').problems.map((p) => p.message)).toEqual(['xdp entry lacks devname, ifindex or id'])
    expect(parseBpftoolNetJson('{"tc":[null],"flow_dissector":[null]}').problems.map((p) => p.message)).toEqual(['tc entry lacks devname, ifindex or program id'])
  })
  it('parseSkBuffLayoutJson: null (the document deleted, {"act":"del"})', () => {
    expect(parseSkBuffLayoutJson('null')).toEqual({facts: {}, problems: [expect.objectContaining({message: 'no offset for mark'})]})
  })
  it('parseBpfHelperQuery: null attachments, programs and errors', () => {
    const r = parseBpfHelperQuery('{"helper":"nodeinspect-bpf","version":1,"attachments":[null,{"ifindex":2,"devname":"eth0","attach_type":"tcx_ingress","progs":[null]}],"errors":[null]}')
    expect(r.problems.map((p) => p.message)).toEqual(['attachment lacks ifindex, devname or a known attach_type', 'program entry lacks prog_id', 'undefined undefined: undefined'])
  })
  it('parseIpLinkJson: a null address', () => {
    expect(parseIpLinkJson('[{"ifindex":1,"ifname":"lo","addr_info":[null]}]').facts[0]!.addresses).toEqual([])
  })
})

describe('fuzz regressions: a time past what a Date holds (RangeError: Invalid time value from toISOString)', () => {
  // Found through trace on a snapshot whose `bpftool -j prog show` had loaded_at replaced by a huge number.
  it('parseBpftoolProgJson: loaded_at 1e308 is a problem, not a crash', () => {
    const r = parseBpftoolProgJson('[{"id":7,"type":"sched_cls","loaded_at":1e308},{"id":8,"type":"xdp","loaded_at":1795367684}]')
    expect(r.facts.map((p) => p.loadedAt)).toEqual([undefined, '2026-11-22T17:14:44Z'])
    expect(r.problems.map((p) => p.message)).toEqual(['program 7: loaded_at 1e+308 is not a time (epoch seconds beyond what a date can hold)'])
  })
})
