// What the fuzzers found, each as its shrunk counterexample (nesting made deeper than the fuzzer needed inside
// fast-check's own stack, so it overflows from any caller). Every case threw before its fix.
import {describe, expect, it} from 'vitest'
import {parseBpfHelperQuery} from '../../src/probes/bpf-helper.js'
import {parseBpftoolLinkJson} from '../../src/probes/bpftool-link.js'
import {parseBpftoolNetJson} from '../../src/probes/bpftool-net.js'
import {parseBpftoolProgJson} from '../../src/probes/bpftool-prog.js'
import {parseBpftoolXlatedJson} from '../../src/probes/bpftool-xlated.js'
import {parseBpftoolMapShow, parseCiliumIpcacheDump} from '../../src/probes/cilium-maps.js'
import {parseIpLinkJson} from '../../src/probes/ip-link.js'
import {parseIpNeighJson, parseIpRouteJson} from '../../src/probes/ip-route.js'
import {parseIpRuleJson} from '../../src/probes/ip-rule.js'
import {parseNftJson} from '../../src/probes/nft-ruleset.js'
import {rawJson} from '../../src/probes/parsed.js'
import {parseSkBuffLayoutJson} from '../../src/probes/sk-buff-layout.js'
import {parseTcFilterBatch} from '../../src/probes/tc-filter.js'

/** `v` inside `depth` arrays, as text (JSON.stringify cannot write it: that is the bug). */
const nested = (depth: number, v = '1') => '['.repeat(depth) + v + ']'.repeat(depth)
const DEEP = 50_000

// Deep nesting is refused outright by parseJson on main since the h-input/h-omission merge (MAX_JSON_DEPTH); these
// assert what holds either way: no throw, the entry reported, raw text bounded.
const bounded = (r: {problems: Array<{raw?: string}>}) => {
  expect(r.problems.length).toBeGreaterThan(0)
  for (const p of r.problems) expect((p.raw ?? '').length).toBeLessThanOrEqual(201)
}

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
    ['parseBpfHelperQuery', (t) => parseBpfHelperQuery(`{"helper":${t}}`)],
    ['parseTcFilterBatch', (t) => parseTcFilterBatch(`[{"kind":"bpf","options":{"x":${t}}}]`, '', [{devname: 'eth0', direction: 'ingress'}])],
  ]
  for (const [name, parse] of cases) {
    it(`${name} reports the entry, its raw text cut to 200 characters`, () => bounded(parse(`[${nested(DEEP)}]`)))
  }

  it('rawJson stops at 16 levels and about 200 characters, and writes scalars as JSON', () => {
    expect(rawJson(JSON.parse(nested(20)))).toBe(`${'['.repeat(16)}[…]${']'.repeat(16)}`)
    expect(rawJson({a: 'x'.repeat(500)}).length).toBeLessThanOrEqual(520)
    expect(rawJson({a: [1, null, true, 'é'], b: {}})).toBe('{"a":[1,null,true,"é"],"b":{}}')
    expect(rawJson(undefined)).toBe('undefined')
  })
})

describe('fuzz regressions: deeply nested arrays turned to text with String() (RangeError from Array.prototype.join)', () => {
  // Counterexample: one field of the first entry wrapped ~3150 arrays deep ({"path":[0,N],"act":"wrap","depth":3152}).
  const strings = (xs: unknown[]) => expect(xs.every((x) => typeof x === 'string')).toBe(true)
  it('parseIpLinkJson: flags and altnames', () => {
    const r = parseIpLinkJson(`[{"ifindex":1,"ifname":"lo","flags":[${nested(DEEP, '"UP"')}],"altnames":[${nested(DEEP)}]}]`)
    for (const d of r.facts) strings([...d.flags, ...d.altnames])
  })
  it('parseIpRouteJson: flags; parseIpNeighJson: state', () => {
    for (const x of parseIpRouteJson(`[{"dst":"10.0.0.0/8","flags":[${nested(DEEP)}]}]`, 'ipv4').facts) strings(x.flags)
    for (const x of parseIpNeighJson(`[{"dst":"10.0.0.1","dev":"eth0","state":[${nested(DEEP)}]}]`).facts) strings(x.state)
  })
  it('parseIpRuleJson: fwmark and goto', () => {
    bounded(parseIpRuleJson(`[{"priority":9,"fwmark":${nested(DEEP)},"table":"main"},{"priority":10,"goto":${nested(DEEP)}}]`, 'ipv4'))
  })
  it('parseBpftoolLinkJson: type; parseBpftoolNetJson: xdp mode', () => {
    for (const l of parseBpftoolLinkJson(`[{"id":1,"type":${nested(DEEP)}}]`).facts) expect(typeof l.type).toBe('string')
    for (const a of parseBpftoolNetJson(`[{"xdp":[{"devname":"eth0","ifindex":2,"id":7,"mode":${nested(DEEP)}}]}]`).facts.attachments) expect(a.xdpMode).toBe('unknown')
  })
  it('parseNftJson: set type, map and flags; table flags; chain devices', () => {
    const n = nested(DEEP, '"x"')
    expect(() => parseNftJson(`{"nftables":[{"table":{"family":"ip","name":"t","flags":[${n}]}},{"chain":{"family":"ip","table":"t","name":"c","type":"filter","hook":"ingress","prio":0,"dev":[${n}]}},{"map":{"family":"ip","table":"t","name":"m","type":[${n}],"map":[${n}],"flags":[${n}]}}]}`)).not.toThrow()
  })
  it('parseBpfHelperQuery: an error entry', () => {
    bounded(parseBpfHelperQuery(`{"helper":"nodeinspect-bpf","version":1,"errors":[{"devname":${nested(DEEP)},"attach_type":"tcx_ingress","errno":1}]}`))
  })
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
    expect(r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^program 7: loaded_at 1e\+308 is not a time/)])
  })
})
