// Memory and output of `marks` grow linearly with the mark rules on a Calico-like node (bench/calico-mark-rules.mjs:
// felix's real dump plus N endpoints whose policy chains all set and test bit 16, so every writer reaches every reader).
import {describe, expect, it} from 'vitest'
import {calicoRuleset, endpointsFor} from '../../bench/calico-mark-rules.mjs'
import {selectRules} from '../../src/analyses/mark-focus.js'
import {flowBetween, isRead, isWrite} from '../../src/analyses/mark-flows.js'
import {usagesFromXt} from '../../src/analyses/mark-sources/iptables.js'
import {UsageIds} from '../../src/analyses/mark-sources/usage.js'
import type {MarkUsage} from '../../src/analyses/mark-usage.js'
import {analyseMarks, MAX_FLOW_PAIRS, type AnalyseMarksOptions} from '../../src/analyses/marks.js'
import {parseIptablesSaveForMarks} from '../../src/probes/iptables-save.js'
import {renderMarks} from '../../src/render/marks-table.js'

function calicoUsages(markRules: number): MarkUsage[] {
  const rs = calicoRuleset(endpointsFor(markRules))
  // felix's dump came from a legacy iptables-save v1.8.4 (no "(nf_tables)" in its header)
  const d = parseIptablesSaveForMarks(rs.text, {family: 'ipv4', backend: 'legacy'})
  expect(d.problems).toEqual([])
  const u = usagesFromXt(d.facts, new UsageIds())
  expect(u.length).toBe(rs.markRules + 1) // one use per mark rule, two in felix's "-m mark … -m rpfilter --validmark"
  return u
}

/** Writer × reader pairs counted the slow way, one flowBetween per pair, none kept. */
function naivePairs(us: readonly MarkUsage[], keep: (u: MarkUsage) => boolean = () => true): number {
  const ws = us.filter(isWrite)
  const rs = us.filter(isRead)
  let n = 0
  for (const w of ws) for (const r of rs) if ((keep(w) || keep(r)) && flowBetween(w, r)) n++
  return n
}

describe('marks on a Calico-like node with 2,000 mark rules', () => {
  const usages = calicoUsages(2000)
  const report = (opts: AnalyseMarksOptions = {}) => analyseMarks({source: 'snapshot'}, usages, [], opts)
  const r = report()

  it('groups ~900k writer × reader pairs into a few dozen flows, every pair counted', () => {
    expect(usages.length).toBeGreaterThanOrEqual(2000)
    const pairs = naivePairs(usages)
    expect(pairs).toBeGreaterThan(800_000) // what v1 listed one by one
    expect(r.summary.flows.pairs).toBe(pairs)
    expect(r.flows.reduce((n, g) => n + g.pairs, 0)).toBe(pairs)
    expect(r.flows.length).toBeLessThan(usages.length / 10)
    expect(r.flowsOmitted).toBeUndefined()
    expect(r.flowPairs).toBeUndefined()
    // the bulk: every policy chain's accept mark decides every endpoint chain's "return if accepted"
    const big = r.flows[0]!
    expect(big).toMatchObject({path: 'netfilter → netfilter', bits: 'bit 16', effect: 'decides', matches: true, from: {owner: 'calico', operation: '-j MARK packet set-xmark 0x10000/0x10000'}, to: {owner: 'calico', values: ['0x10000/0x10000']}})
    expect(big.pairs).toBe(big.from.uses * big.to.uses)
    expect(big.examples).toHaveLength(3)
  })

  it('grows linearly: twice the rules, the same groups and about twice the JSON', () => {
    const half = analyseMarks({source: 'snapshot'}, calicoUsages(1000), [])
    expect(r.flows.length).toBe(half.flows.length)
    const ratio = JSON.stringify(r).length / JSON.stringify(half).length
    expect(ratio).toBeGreaterThan(1.5)
    expect(ratio).toBeLessThan(2.5)
    expect(r.summary.flows.pairs / half.summary.flows.pairs).toBeGreaterThan(3.5) // what v1 had to hold
  })

  it('--flows lists the first 10,000 pairs in v1 order and counts the rest', () => {
    const f = report({flows: true})
    expect(f.flowPairs).toHaveLength(MAX_FLOW_PAIRS)
    expect(f.flowPairsOmitted).toBe(f.summary.flows.pairs - MAX_FLOW_PAIRS)
    const first: ReturnType<typeof flowBetween>[] = []
    const reads = usages.filter(isRead)
    outer: for (const w of usages.filter(isWrite)) {
      for (const x of reads) {
        const p = flowBetween(w, x)
        if (p) first.push(p)
        if (first.length === MAX_FLOW_PAIRS) break outer
      }
    }
    expect(f.flowPairs).toEqual(first)
  })

  it('--rule on one policy chain: that write and every read it reaches, pair by pair', () => {
    const set = usages.find((u) => u.role === 'set' && u.where.chain?.startsWith('cali-pi-'))!
    // the chain holds the write and its RETURN match: position 1 is the write
    const spec = `${set.where.table}/${set.where.chain}#${set.where.position}`
    expect(selectRules(usages, set.where.chain!)).toEqual({selected: new Set([set.id, usages[usages.indexOf(set) + 1]!.id])})
    expect(selectRules(usages, spec)).toEqual({selected: new Set([set.id])})
    const f = report({rule: {spec, ids: new Set([set.id])}})
    expect(f.usages).toEqual([set])
    const expected = naivePairs(usages, (u) => u.id === set.id)
    expect(f.flowPairs).toHaveLength(expected)
    expect(f.flowPairsOmitted).toBeUndefined()
    expect(f.flowPairs!.every((p) => p.from === set.id)).toBe(true)
    expect(f.summary.flows.pairs).toBe(expected)
  })

  it('--bit 16 lists pairs too, bounded', () => {
    const f = report({bit: 16})
    expect(f.flowPairs).toHaveLength(MAX_FLOW_PAIRS)
    expect(f.summary.flows.pairs).toBe(naivePairs(usages, (u) => ((u.setsBits | u.clearsBits | u.readsBits | u.mask) & 0x10000) !== 0))
  })

  it('renders text bounded, saying how much more there is', () => {
    const text = renderMarks(r)
    expect(text.split('\n').length).toBeLessThan(1500)
    expect(text).toContain(`… ${(usages.length - 100).toLocaleString('en-US')} more uses (use --json, --bit, --mask or --rule)`)
    expect(text).toMatch(/^Flows \(a write, and the reads it reaches\) \([\d,]+ write → read pairs in \d+ groups of alike uses; --flows lists the pairs\)$/m)
    expect(text).toMatch(/^ {2}u\d+ and 333 like it → u\d+ and \d+ like it {2}netfilter → netfilter {2}decides it \(matches after\) \(bit 16\): [\d,]+ pairs$/m)
    // a field value used by 2,000 rules: the first ids, then how many more
    expect(text).toMatch(/│ \+\d+ more · +│/)
    expect(text).not.toMatch(/u\d*…/) // no id cut short by a narrow cell
    const pairs = renderMarks(report({flows: true}))
    expect(pairs).toMatch(/^… [\d,]+ more pairs \(--json lists 9,800 more; [\d,]+ not listed even there: narrow with --bit, --mask or --rule\)$/m)
  })
})

describe('marks on a Calico-like node with 20,000 mark rules', () => {
  it('analyses and renders (text and JSON) without overflowing the stack or the heap', () => {
    const usages = calicoUsages(20_000)
    const r = analyseMarks({source: 'snapshot'}, usages, [], {flows: true})
    expect(r.summary.usages).toBe(usages.length)
    expect(r.summary.flows.pairs).toBeGreaterThan(80_000_000)
    expect(r.flowPairs).toHaveLength(MAX_FLOW_PAIRS)
    const json = JSON.stringify(r, null, 2)
    expect(json.length).toBeLessThan(usages.length * 2_000) // linear: about 1.3 kB per use
    const text = renderMarks(r)
    expect(text).toContain(`… ${(usages.length - 100).toLocaleString('en-US')} more uses`)
  }, 120_000)
})
