import {describe, expect, it} from 'vitest'
import {analyseMarkDrift, analyseMarksFleet} from '../../src/analyses/mark-drift.js'
import {usagesFromXt} from '../../src/analyses/mark-sources/iptables.js'
import {UsageIds} from '../../src/analyses/mark-sources/usage.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'

/** A node's mark uses from the mangle rules given (iptables-save lines of its *mangle table). */
function node(name: string, ...rules: string[]) {
  const chains = [...new Set(rules.map((r) => r.split(' ')[1]!))].filter((c) => c !== 'PREROUTING')
  const text = ['*mangle', ':PREROUTING ACCEPT [0:0]', ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-A PREROUTING -j ${c}`), ...rules, 'COMMIT', ''].join('\n')
  const xt = parseIptablesSave(text, {family: 'ipv4', backend: 'nft'})
  expect(xt.problems).toEqual([])
  return {name, usages: usagesFromXt(xt.facts, new UsageIds())}
}

const CILIUM = '-A CILIUM_PRE_mangle -m mark --mark 0x200/0xf00 -j ACCEPT'
const CILIUM_WIDER = '-A CILIUM_PRE_mangle -m mark --mark 0x200/0xff00 -j ACCEPT'
const KUBE = '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'
const ISTIO_ON_BIT_14 = '-A ISTIO_PRERT -j MARK --set-xmark 0x4000/0x4000'

describe('mark drift across a fleet (marks --snapshot DIR, issue 11)', () => {
  it('finds nothing where every node uses its bits alike, and nothing in a bit only one node uses', () => {
    expect(analyseMarkDrift([node('n1', CILIUM, KUBE), node('n2', CILIUM, KUBE), node('n3', CILIUM)])).toEqual([])
  })

  it('the same owner with another mask: each bit of the wider mask the nodes share, named per node', () => {
    const d = analyseMarkDrift([node('n1', CILIUM), node('n2', CILIUM_WIDER), node('n3', CILIUM)])
    // Bits 8-11 are used on all three, with 0xf00 on two and 0xff00 on n2; bits 12-15 only on n2: no drift.
    expect(d.map((x) => `${x.bit} ${x.kind} ${x.owner}`)).toEqual(['11 mask-differs cilium', '10 mask-differs cilium', '9 mask-differs cilium', '8 mask-differs cilium'])
    expect(d[0]!.message).toBe('bit 11 (0x800): cilium uses it with mask 0xf00 on n1, n3; 0xff00 on n2')
    expect(d[0]!.nodes).toEqual([
      {node: 'n1', owners: ['cilium'], masks: {cilium: ['0xf00']}},
      {node: 'n2', owners: ['cilium'], masks: {cilium: ['0xff00']}},
      {node: 'n3', owners: ['cilium'], masks: {cilium: ['0xf00']}},
    ])
  })

  it('a bit owned by different software on different nodes, and the nodes that leave it unused', () => {
    const d = analyseMarkDrift([node('n1', KUBE), node('n2', ISTIO_ON_BIT_14), node('n3', CILIUM)])
    expect(d).toHaveLength(1)
    expect(d[0]).toMatchObject({markKind: 'packet', bit: 14, hex: '0x4000', kind: 'owners-differ'})
    expect(d[0]!.message).toBe('bit 14 (0x4000) is used by kubernetes on n1; istio on n2 (unused on n3)')
  })

  it('the fleet report: every node overview, the drift, warnings named by node', () => {
    const n1 = {...node('n1', CILIUM), file: 'd/n1.json', node: {source: 'snapshot' as const}, warnings: [{probe: 'ss', kind: 'missing-binary' as const, message: 'ss: not installed'}]}
    const n2 = {...node('n2', CILIUM_WIDER), file: 'd/n2.json.gz', node: {source: 'snapshot' as const}, warnings: []}
    const r = analyseMarksFleet(['d'], [n1, n2])
    expect(r.schema).toBe('nodeinspect.marks/v2')
    expect(r.fleet.nodes.map((n) => `${n.name} ${n.file} ${n.bitmap} ${n.summary.usages}`)).toEqual(['n1 d/n1.json ....................CCCC........ 1', 'n2 d/n2.json.gz ................CCCCCCCC........ 1'])
    expect(r.fleet.drift).toHaveLength(4)
    expect(r.warnings.map((w) => w.message)).toEqual(['n1: ss: not installed'])
  })
})
