import {describe, expect, it} from 'vitest'
import {parseIpLinkJson} from '../../src/probes/ip-link.js'
import {parseJson} from '../../src/probes/parsed.js'
import {buildTcFilterBatch, parseTcFilterBatch, tcBatchWord} from '../../src/probes/tc-filter.js'
import {escapeRawControls, parseToolJson} from '../../src/probes/tool-json.js'

// `ip -j link show` of a veth pair named $'a\x01b' / x, as iproute2 6.1 prints it: a raw U+0001 inside the
// strings (json_writer's jsonw_puts escapes only " \ \b \f \n \r \t). Trimmed to the fields the parser reads.
const IP_LINK_RAW_CONTROL =
  '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"link_type":"loopback","addr_info":[]},' +
  '{"ifindex":2,"link":"a\u0001b","ifname":"x","flags":["BROADCAST","MULTICAST","M-DOWN"],"mtu":1500,"link_type":"ether","address":"92:83:61:6a:f7:c0","linkinfo":{"info_kind":"veth"},"addr_info":[]},' +
  '{"ifindex":3,"link":"x","ifname":"a\u0001b","flags":["BROADCAST","MULTICAST","M-DOWN"],"mtu":1500,"link_type":"ether","linkinfo":{"info_kind":"veth"},"addr_info":[]},' +
  '{"ifindex":5,"ifname":"c\u001bd","flags":[],"link_type":"ether","addr_info":[]},' +
  '{"ifindex":9,"ifname":"g\\bh\\"i\\\\j","flags":[],"link_type":"ether","addr_info":[]}]\n'

describe('escapeRawControls', () => {
  it('escapes raw control characters inside strings only, keeping every value', () => {
    expect(() => JSON.parse(IP_LINK_RAW_CONTROL)).toThrow(/control character/i)
    const fixed = escapeRawControls(IP_LINK_RAW_CONTROL)
    const v = JSON.parse(fixed) as Array<{ifname: string}>
    expect(v.map((d) => d.ifname)).toEqual(['lo', 'x', 'a\u0001b', 'c\u001bd', 'g\bh"i\\j'])
  })

  it('leaves valid JSON untouched (same string), and blanks between tokens alone', () => {
    const ok = '[\n\t{"a": "b\\u0001", "c": "\\\\"}\r\n]'
    expect(escapeRawControls(ok)).toBe(ok)
  })

  it('an escaped quote does not end the string; an escaped backslash does not escape the quote after it', () => {
    expect(escapeRawControls('["\\"\u0002", "\\\\", "\u0003"]')).toBe('["\\"\\u0002", "\\\\", "\\u0003"]')
    expect(JSON.parse(escapeRawControls('["\\"\u0002", "\\\\", "\u0003"]'))).toEqual(['"\u0002', '\\', '\u0003'])
  })

  it('is linear: 1 MB of control characters inside one string', () => {
    const big = `["${'\u0001'.repeat(1_000_000)}"]`
    const t0 = performance.now()
    const v = parseToolJson(big) as string[]
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(v[0]).toHaveLength(1_000_000)
  })
})

describe('parseToolJson / parseJson', () => {
  it('a document that is broken for another reason still reports the first error', () => {
    expect(() => parseToolJson('[{"a":1,')).toThrow(SyntaxError)
    const r = parseJson('ip -j link show', '[{"a":"\u0001",')
    expect(r.problem?.message).toMatch(/not valid JSON/)
  })

  it('ip -j link: every device of a node with a control character in one name (none hidden)', () => {
    const {facts, problems} = parseIpLinkJson(IP_LINK_RAW_CONTROL)
    expect(problems).toEqual([])
    expect(facts.map((d) => [d.ifindex, d.name])).toEqual([
      [1, 'lo'],
      [2, 'x'],
      [3, 'a\u0001b'],
      [5, 'c\u001bd'],
      [9, 'g\bh"i\\j'],
    ])
    expect(facts.find((d) => d.ifindex === 2)!.peer).toEqual({name: 'a\u0001b', sameNetns: true})
  })

  it('tc -j -batch: an answer with a raw control character in bpf_name is read', () => {
    const commands = [{devname: 'a\u0001b', direction: 'ingress' as const}]
    const out = '[{"protocol":"all","pref":1,"kind":"bpf","chain":0,"options":{"handle":"0x1","bpf_name":"o\u0001.o:[tc]","direct-action":true,"prog":{"id":7}}}]\n'
    const {facts, problems} = parseTcFilterBatch(out, '', commands)
    expect(problems).toEqual([])
    expect(facts.bpf.map((a) => [a.devname, a.progId, a.attachName])).toEqual([['a\u0001b', 7, 'o\u0001.o:[tc]']])
  })
})

describe('tc batch words (iproute2 getcmdline/makeargs)', () => {
  it.each([
    ['eth0', 'eth0'],
    ['a\u0001b', 'a\u0001b'],
    ['a"b', 'a"b'],
    ['x\\y', 'x\\y'],
    ["'q", `"'q"`],
    ['"q', `'"q'`],
    ['h#h', undefined],
    [`'a"`, undefined],
  ])('%j → %j', (name, word) => {
    expect(tcBatchWord(name)).toBe(word)
  })

  it('a device no line can carry is left out, the others keep their order', () => {
    const {commands, script} = buildTcFilterBatch(['a', 'h#h', "'q"])
    expect(commands.map((c) => `${c.devname} ${c.direction}`)).toEqual(['a ingress', 'a egress', "'q ingress", "'q egress"])
    expect(script).toBe(`filter show dev a ingress\nfilter show dev a egress\nfilter show dev "'q" ingress\nfilter show dev "'q" egress\n`)
  })
})
