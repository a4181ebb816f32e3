import {describe, expect, it} from 'vitest'
import {usagesFromIpRules} from '../../src/analyses/mark-sources/ip-rules.js'
import {usagesFromXt} from '../../src/analyses/mark-sources/iptables.js'
import {UsageIds} from '../../src/analyses/mark-sources/usage.js'
import {opBits} from '../../src/analyses/mark-usage.js'
import {flowBetween} from '../../src/analyses/mark-flows.js'
import {analyseMarks, type AnalyseMarksOptions} from '../../src/analyses/marks.js'
import {parseIpRuleJson} from '../../src/probes/ip-rule.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'
import {testdata} from '../helpers/fixtures.js'

function usagesOfRuleset() {
  const ids = new UsageIds()
  const xt = parseIptablesSave(testdata('marks-analysis/collide.iptables-save'), {family: 'ipv4', backend: 'nft'})
  expect(xt.problems).toEqual([])
  const rules = parseIpRuleJson('[{"priority":9,"src":"all","fwmark":"0x200","fwmask":"0xf00","table":"2004"},{"priority":100,"src":"all","fwmark":"0x539","table":"133"}]', 'ipv4')
  return [...usagesFromXt(xt.facts, ids), ...usagesFromIpRules(rules.facts, ids)]
}

function report(opts: AnalyseMarksOptions = {}) {
  return analyseMarks({source: 'snapshot'}, usagesOfRuleset(), [], opts)
}

describe('opBits: what each operation turns on, off and may change', () => {
  it('MARK and CONNMARK forms', () => {
    expect(opBits({kind: 'set-xmark', target: 'packet', value: 0x4000, mask: 0x4000})).toEqual({sets: 0x4000, clears: 0, value: 0x4000, mask: 0x4000, whole: false})
    // --xor-mark 0x4000 is saved as --set-xmark 0x4000/0x0: bit 14 flips
    expect(opBits({kind: 'set-xmark', target: 'packet', value: 0x4000, mask: 0})).toEqual({sets: 0x4000, clears: 0x4000, value: 0x4000, mask: 0x4000, whole: false})
    expect(opBits({kind: 'set-xmark', target: 'packet', value: 0x539, mask: 0xffffffff})).toMatchObject({sets: 0x539, clears: 0xfffffac6, whole: true})
    expect(opBits({kind: 'and', target: 'packet', value: 0xfffeffff})).toMatchObject({sets: 0, clears: 0x10000, whole: false})
    expect(opBits({kind: 'restore', nfmask: 0x80, ctmask: 0x80})).toMatchObject({sets: 0x80, clears: 0x80, whole: false})
    expect(opBits({kind: 'bitwise', target: 'packet', source: 'conntrack', and: 0x80, xor: 0})).toMatchObject({clears: 0xffffffff, whole: true})
  })
})

describe('analyseMarks on a known ruleset (kube-proxy + Cilium + an Istio sidecar)', () => {
  const r = report()
  /** The id of the use whose operation contains this text (ids follow the dump's order). */
  const id = (op: string, rep = r) => {
    const hits = rep.usages.filter((u) => u.operation.includes(op))
    expect(hits, op).toHaveLength(1)
    return hits[0]!.id
  }

  it('attributes every use, by chain, comment or ip rule table', () => {
    expect(r.usages.map((u) => `${u.role} ${u.owner?.owner ?? 'unattributed'}/${u.owner?.basis ?? '-'} ${u.operation}`)).toEqual([
      'restore unattributed/- -j CONNMARK restore nfmask 0xffffffff ctmask 0xffffffff',
      'set istio/chain -j MARK packet set-xmark 0x539/0xffffffff',
      'match cilium/chain -m mark ! --mark 0xe00/0xf00',
      'set cilium/chain -j MARK packet set-xmark 0x200/0xffffffff',
      'set kubernetes/chain -j MARK packet set-xmark 0x4000/0x4000',
      'match kubernetes/chain -m mark ! --mark 0x4000/0x4000',
      'set kubernetes/chain -j MARK packet set-xmark 0x4000/0x0',
      'match cilium/chain -m mark --mark 0x200/0xf00',
      'match cilium/chain -m mark --mark 0x1000/0x1000',
      'route cilium/ip-rule-table 9: fwmark 0x200/0xf00 lookup 2004',
      'route istio/ip-rule-table 100: fwmark 0x539 lookup 133',
    ])
    expect(r.usages.find((u) => u.operation === '-m mark --mark 0x200/0xf00')!.meaning).toMatch(/^MARK_MAGIC_TO_PROXY/)
    expect(r.usages.find((u) => u.operation.includes('0x4000/0x4000') && u.role === 'set')!.where.hooks).toEqual(['nat/PREROUTING'])
    expect(r.usages.find((u) => u.operation.includes('0x539/0xffffffff'))!.where.hooks).toEqual(['mangle/OUTPUT'])
  })

  it('draws the bit map: one letter per owner, * where owners share a bit', () => {
    // bit 31 first. Istio's 0x539 = bits 0,3,4,5,8,10; Cilium: nibble 8-11 and bit 12; Kubernetes: bit 14.
    expect(r.bitmap).toBe('.................K.CC*C*..III..I')
    expect(r.legend).toMatchObject({C: 'Cilium', K: 'Kubernetes (kube-proxy/kubelet)', I: 'Istio'})
    expect(r.bits).toHaveLength(32)
    expect(r.bits.find((b) => b.bit === 14)).toEqual({
      bit: 14,
      hex: '0x4000',
      setBy: ['kubernetes'],
      clearedBy: ['unattributed', 'istio', 'cilium', 'kubernetes'],
      matchedBy: ['kubernetes'],
      owner: 'kubernetes',
      usages: expect.any(Array),
    })
    expect(r.bits.find((b) => b.bit === 10)).toMatchObject({setBy: ['istio'], matchedBy: ['cilium', 'istio'], owner: 'shared'})
    expect(r.bits.find((b) => b.bit === 31)).toMatchObject({setBy: [], matchedBy: []})
    expect(r.bits.find((b) => b.bit === 31)!.owner).toBeUndefined()
  })

  it('shows fields with their values and meanings', () => {
    const nibble = r.fields.find((f) => f.hex === '0xf00')!
    expect(nibble.owners).toEqual(['cilium'])
    expect(nibble.values.map((v) => [v.hex, v.matchedBy, v.meaning?.split(':')[0]])).toEqual([
      ['0x200', [id('--mark 0x200/0xf00'), id('fwmark 0x200/0xf00')], 'MARK_MAGIC_TO_PROXY'],
      ['0xe00', [id('0xe00/0xf00')], 'MARK_MAGIC_ENCRYPT'],
    ])
    expect(nibble.values[0]!.contexts).toEqual(['filter/INPUT', 'ip rule (IPv4 policy routing)'])
  })

  it('finds the collisions, each with the exact rules', () => {
    const istio = id('0x539/0xffffffff')
    const ciliumSet = id('set-xmark 0x200/0xffffffff')
    const restore = id('CONNMARK restore')
    const toProxy = id('--mark 0x200/0xf00')
    const dropMatch = id('0x1000/0x1000')
    const f = r.findings.map((x) => `${x.severity} ${x.kind} ${x.usages.join(',')}`)
    const cilium0xe00 = id('! --mark 0xe00/0xf00')
    const toProxyRule = id('fwmark 0x200/0xf00')
    const istioRule = id('fwmark 0x539')
    const kubeMasq = id('set-xmark 0x4000/0x4000')
    expect(f).toEqual([
      `high whole-mark-clobber ${istio}`,
      `high whole-mark-clobber ${ciliumSet}`,
      `high connmark-cross-owner ${restore}`,
      // 0x539 puts 0x500 into Cilium's nibble: Cilium's to-proxy match and ip rule cannot match those packets
      `medium owner-overlap ${istio},${toProxy}`,
      `medium owner-overlap ${istio},${toProxyRule}`,
      // and a mark of 0x200 or 0x4000 added to Istio's 0x539 breaks Istio's exact-value ip rule
      `medium owner-overlap ${ciliumSet},${istioRule}`,
      `medium owner-overlap ${kubeMasq},${istioRule}`,
      `medium owner-overlap ${id('0x4000/0x0')},${istioRule}`,
      // nothing sets bit 12 (the whole-connmark restore only brings back what a save or ct write put there: none)
      `low dead-match ${dropMatch}`,
    ])
    expect(f).not.toContain(`medium owner-overlap ${istio},${cilium0xe00}`) // 0x500 is not 0xe00: the exclusion still holds
    // 0x539 & 0xf00 = 0x500, not 0x200: Istio does not select Cilium's to-proxy ip rule
    expect(r.findings.some((x) => x.kind === 'ip-rule-steered' && x.usages.includes(istio) && x.usages.includes(id('fwmark 0x200/0xf00')))).toBe(false)
    const clobber = r.findings.find((x) => x.kind === 'whole-mark-clobber' && x.usages[0] === istio)!
    expect(clobber.message).toBe('Istio writes the whole mark (-j MARK packet set-xmark 0x539/0xffffffff), clobbering bits 9,11,12,14 used by Cilium, Kubernetes (kube-proxy/kubelet)')
    expect(r.findings.find((x) => x.kind === 'dead-match')!.message).toMatch(/^-m mark --mark 0x1000\/0x1000 needs bit 12 \(0x1000\) set, and nothing seen on this node sets it/)
  })

  it('follows writes to the reads they reach (--flows lists the pairs)', () => {
    const pairs = report({flows: true}).flowPairs!
    // KUBE-MARK-MASQ decides KUBE-POSTROUTING's "! --mark 0x4000/0x4000 -j RETURN": it no longer matches, so the packet is masqueraded
    expect(pairs).toEqual(expect.arrayContaining([{from: id('set-xmark 0x4000/0x4000'), to: id('! --mark 0x4000/0x4000'), path: 'netfilter → netfilter', effect: 'decides', matches: false, bits: 'bit 14'}]))
    expect(pairs).toEqual(expect.arrayContaining([{from: id('set-xmark 0x200/0xffffffff'), to: id('fwmark 0x200/0xf00'), path: 'netfilter → ip rule', effect: 'decides', matches: true, bits: 'bits 8-11'}]))
    expect(pairs.find((x) => x.from === id('0x4000/0x0') && x.to === id('! --mark 0x4000/0x4000'))).toMatchObject({effect: 'partial'}) // --xor-mark flips
    expect(pairs.find((x) => x.from === id('CONNMARK restore') && x.to === id('fwmark 0x200/0xf00'))).toMatchObject({path: 'connmark restore → ip rule', effect: 'partial'})
    // the same pairs, in the same order, as trying every write against every read
    const all = r.usages
    const naive = all.flatMap((w) => all.map((x) => flowBetween(w, x)).filter((f) => f !== undefined))
    expect(pairs).toEqual(naive)
    expect(r.flowPairs).toBeUndefined() // without --flows or a focus: the groups only
  })

  it('groups flows by writer operation, owner and hooks and reader class, and each pair falls in exactly one group', () => {
    const pairs = report({flows: true}).flowPairs!
    expect(r.summary.flows.pairs).toBe(pairs.length)
    expect(r.flows.reduce((n, g) => n + g.pairs, 0)).toBe(pairs.length)
    const byId = new Map(r.usages.map((u) => [u.id, u]))
    for (const g of r.flows) {
      expect(g.examples.length).toBe(Math.min(3, g.pairs))
      for (const e of g.examples) {
        const p = pairs.find((x) => x.from === e.from && x.to === e.to)!
        expect(p, `${e.from} → ${e.to}`).toMatchObject({path: g.path, effect: g.effect, bits: g.bits})
        expect(p.matches).toBe(g.matches)
        expect(byId.get(e.from)!.operation).toBe(g.from.operation)
      }
    }
    // no two uses here are alike (operation, owner, hooks): one group per pair, in the order the pairs were found
    expect(r.flows.map((g) => g.examples[0])).toEqual(pairs.map((p) => ({from: p.from, to: p.to})))
    expect(r.flows.every((g) => g.pairs === 1 && g.from.uses === 1 && g.to.uses === 1)).toBe(true)
  })

  it('--bit and --mask focus on the uses of those bits', () => {
    const b = report({bit: 14})
    expect(b.bits.map((x) => x.bit)).toEqual([14])
    expect(b.usages.length).toBeGreaterThan(0)
    expect(b.usages.every((u) => ((u.setsBits | u.clearsBits | u.readsBits | u.mask) & 0x4000) !== 0)).toBe(true)
    expect(b.bitmap).toBe(`${' '.repeat(17)}K${' '.repeat(14)}`)
    expect(b.focus).toEqual({bit: 14})
    const m = report({mask: 0xf00})
    expect(m.usages.some((u) => u.operation.includes('0x1000/0x1000'))).toBe(false)
    expect(m.bits.map((x) => x.bit)).toEqual([11, 10, 9, 8])
  })
})
