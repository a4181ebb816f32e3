import {describe, expect, it} from 'vitest'
import {buildTcFilterBatch, parseTcFilterBatch, parseTcFilterText, splitJsonValues} from '../../src/probes/tc-filter.js'
import {fixtures} from '../helpers/fixtures.js'

// Captured from `tc -j -force -batch -` (iproute2 6.1) in a throwaway netns: x1 has a cls_bpf filter on ingress,
// "nope" does not exist (its three commands failed), x2 has nothing.
const BATCH_STDOUT = `[{"protocol":"all","pref":49152,"kind":"bpf","chain":0},{"protocol":"all","pref":49152,"kind":"bpf","chain":0,"options":{"handle":"0x1","bpf_name":"bpf_lxc.o:[from-container]","direct-action":true,"not_in_hw":true,"prog":{"id":100,"name":"handle_xgress","tag":"4ad0feeb9534414b","jited":1}}}]
[]
[]
[]
`
const BATCH_STDERR = 'Cannot find device "nope"\nCommand failed -:3\nCannot find device "nope"\nCommand failed -:4\n'

describe('tc batch', () => {
  it('builds one script for every device, both directions, and skips names tc cannot carry', () => {
    const {commands, script} = buildTcFilterBatch(['x1', 'bad name', 'x2'])
    expect(script).toBe('filter show dev x1 ingress\nfilter show dev x1 egress\nfilter show dev x2 ingress\nfilter show dev x2 egress\n')
    expect(commands).toHaveLength(4)
  })

  it('matches answers to commands by order, skipping the ones that failed', () => {
    const commands = [
      {devname: 'x1', direction: 'ingress' as const},
      {devname: 'x1', direction: 'egress' as const},
      {devname: 'nope', direction: 'ingress' as const},
      {devname: 'nope', direction: 'egress' as const},
      {devname: 'x2', direction: 'ingress' as const},
      {devname: 'x2', direction: 'egress' as const},
    ]
    const {facts, problems} = parseTcFilterBatch(BATCH_STDOUT, BATCH_STDERR, commands)
    expect(facts.bpf).toEqual([
      {
        ifindex: 0,
        devname: 'x1',
        hook: 'tc-ingress',
        progId: 100,
        attachName: 'bpf_lxc.o:[from-container]',
        tc: {pref: 49152, handle: '0x1', chain: 0, protocol: 'all', directAction: true, bpfName: 'bpf_lxc.o:[from-container]', notInHw: true, jited: true},
        witnesses: ['tc-filter'],
      },
    ])
    expect(problems.map((p) => p.message)).toEqual(['filter show dev nope ingress failed (device gone?)', 'filter show dev nope egress failed (device gone?)'])
  })

  it('refuses to guess when the number of answers does not match', () => {
    const {facts, problems} = parseTcFilterBatch('[]\n', '', [
      {devname: 'a', direction: 'ingress'},
      {devname: 'a', direction: 'egress'},
    ])
    expect(facts.bpf).toEqual([])
    expect(problems[0]!.message).toMatch(/expected 2 answers for 2 commands .* got 1/)
  })

  it('keeps non-bpf filters (fw, u32…) for the marks analysis', () => {
    const out = '[{"protocol":"ip","pref":1,"kind":"fw","chain":0},{"protocol":"ip","pref":1,"kind":"fw","chain":0,"options":{"handle":"0x200/0xf00","classid":"1:2"}}]\n[]\n'
    const {facts} = parseTcFilterBatch(out, '', [
      {devname: 'eth0', direction: 'ingress'},
      {devname: 'eth0', direction: 'egress'},
    ])
    expect(facts.other).toEqual([{devname: 'eth0', direction: 'ingress', kind: 'fw', pref: 1, chain: 0, handle: '0x200/0xf00', protocol: 'ip', options: {handle: '0x200/0xf00', classid: '1:2'}}])
  })

  it('splits concatenated JSON values, strings with brackets included', () => {
    expect(splitJsonValues('[{"a":"]["}] [1,[2]]\n{"b":"\\"}"}').values).toEqual(['[{"a":"]["}]', '[1,[2]]', '{"b":"\\"}"}'])
    expect(splitJsonValues('[1,2').trailing).toBe('[1,2')
  })
})

describe('parseTcFilterText on real captures', () => {
  it('reads the two-line form with trailing blanks (Cilium issue 17468)', () => {
    const f = fixtures('tc-filter').find((x) => x.name.startsWith('kind'))!
    expect(parseTcFilterText(f.text, 'lxc5869b5857a3d', 'ingress')).toEqual({
      facts: {filters: [{kind: 'bpf', pref: 1, protocol: 'all', chain: 0, handle: '0x1', bpfName: 'bpf_lxc.o:[from-container]', directAction: true, notInHw: true, progId: 15843, tag: 'a7a920f725fab0ef', jited: true}]},
      problems: [],
    })
  })

  it('reads old iproute2 output without chain or program id (AWS 2019)', () => {
    const f = fixtures('tc-filter').find((x) => x.name.startsWith('aws'))!
    const {facts, problems} = parseTcFilterText(f.text, 'lxc', 'egress')
    expect(problems).toEqual([])
    expect(facts.filters).toEqual([{kind: 'bpf', pref: 1, protocol: 'all', handle: '0x1', bpfName: 'bpf_lxc.o:[from-container]', directAction: true, notInHw: true, tag: 'db59e2ea8177ded3'}])
  })

  it('reports lines that are not filters', () => {
    expect(parseTcFilterText('qdisc clsact ffff: parent ffff:fff1\n', 'eth0', 'ingress').problems[0]).toMatchObject({line: 1, message: 'unrecognised line'})
  })
})
