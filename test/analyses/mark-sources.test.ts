import {describe, expect, it} from 'vitest'
import type {ProgramSummary} from '../../src/model/program-summary.js'
import {usagesFromBpf} from '../../src/analyses/mark-sources/ebpf.js'
import {usagesFromTc} from '../../src/analyses/mark-sources/tc.js'
import {usagesFromXt} from '../../src/analyses/mark-sources/iptables.js'
import {UsageIds} from '../../src/analyses/mark-sources/usage.js'
import {xtChainReachability} from '../../src/model/chain-graph.js'
import {parseIptablesSave, parseIptablesSaveForMarks} from '../../src/probes/iptables-save.js'
import {fixtures, testdata} from '../helpers/fixtures.js'
import {usagesFromNft} from '../../src/analyses/mark-sources/nft.js'
import {parseNftJson} from '../../src/probes/nft-ruleset.js'

describe('usagesFromTc', () => {
  it('reads fw classifier handles, flower/u32 mark keys and skbedit mark actions', () => {
    const u = usagesFromTc(
      [
        {devname: 'eth0', direction: 'ingress', kind: 'fw', pref: 1, handle: '0x200/0xf00', options: {handle: '0x200/0xf00', classid: '1:2'}},
        {devname: 'eth0', direction: 'egress', kind: 'flower', pref: 2, options: {keys: {mark: '0x4000/0x4000'}}},
        {devname: 'lxc1', direction: 'ingress', kind: 'matchall', pref: 3, options: {actions: [{kind: 'skbedit', mark: 2048, mask: 3840}]}},
        {devname: 'lxc1', direction: 'ingress', kind: 'u32', pref: 4, options: {}},
      ],
      new UsageIds(),
    )
    expect(u.map((x) => [x.subsystem, x.role, x.operation, x.value, x.mask, x.where.hooks[0]])).toEqual([
      ['tc', 'match', 'fw handle 0x200/0xf00', 0x200, 0xf00, 'tc ingress eth0'],
      ['tc', 'match', 'flower mark 0x4000/0x4000', 0x4000, 0x4000, 'tc egress eth0'],
      ['tc', 'set', 'skbedit mark 0x800/0xf00', 0x800, 0xf00, 'tc ingress lxc1'],
    ])
    expect(u[0]!.owner).toBeUndefined() // a tc filter names no owner: unattributed
    expect(u[0]!.candidates?.[0]).toMatch(/^Cilium: MARK_MAGIC_TO_PROXY/)
  })
})

describe('usagesFromBpf', () => {
  const report = (over: Partial<ProgramSummary>): ProgramSummary => ({markOffset: 164, loads: [], writes: [], matches: [], helperCalls: [], helpers: [], families: [], subprogramCalls: [], mapIds: [], uncertain: [], notes: [], ...over})
  it('turns instruction-level writes and compares into program-evidence uses owned by the recognised software', () => {
    const u = usagesFromBpf(
      {progId: 77, progName: 'cil_from_container', hooks: ['tc ingress lxc1'], software: 'Cilium'},
      report({
        writes: [{pc: 9, disasm: '(63) *(u32 *)(r6 +164) = r2', evidence: 'program', op: 'or', value: 0x800, mask: 0x800, unknownBits: 0, expr: 'mark | 0x800'}],
        matches: [{pc: 4, disasm: 'if w2 != 0x200 goto pc+3', evidence: 'program', kind: 'match', value: 0x200, mask: 0xf00, negated: false, op: '!=', width: 32, satisfiable: true}],
      }),
      new UsageIds(),
    )
    expect(u.map((x) => [x.role, x.operation, x.evidence, x.owner?.owner, x.owner?.basis, x.where.progId, x.where.pc])).toEqual([
      ['set', 'skb->mark: mark | 0x800', 'program', 'cilium', 'program', 77, 9],
      ['match', 'if ((skb->mark & 0xf00) == 0x200)', 'program', 'cilium', 'program', 77, 4],
    ])
    expect(u[0]).toMatchObject({setsBits: 0x800, clearsBits: 0, style: 'bitwise', meaning: expect.stringMatching(/^MARK_MAGIC_SKIP_TPROXY/)})
  })

  it('says when a written value could not be followed', () => {
    const [w] = usagesFromBpf({progId: 5, hooks: ['tcx egress eth0']}, report({writes: [{pc: 3, disasm: '(63) *(u32 *)(r1 +164) = r3', evidence: 'program', op: 'unknown', value: 0, mask: 0xffff, unknownBits: 0xffff, expr: 'unknown'}]}), new UsageIds())
    expect(w!.uncertain).toBe('bits 0xffff come from a value the analysis could not follow')
    expect(w!.owner).toBeUndefined()
  })
})

describe('usagesFromXt on a dump parsed for marks', () => {
  const opts = {family: 'ipv4', backend: 'legacy'} as const
  for (const f of fixtures('iptables-save')) {
    it(`gives exactly the uses of the full parse: ${f.name}`, () => {
      const full = parseIptablesSave(f.text, opts)
      const marks = parseIptablesSaveForMarks(f.text, opts)
      expect(usagesFromXt(marks.facts, new UsageIds())).toEqual(usagesFromXt(full.facts, new UsageIds()))
      // the rules not built are counted, and their jumps keep the chain graph whole
      for (const [i, t] of marks.facts.tables.entries()) {
        expect(xtChainReachability({...marks.facts, tables: [t]})).toEqual(xtChainReachability({...full.facts, tables: [full.facts.tables[i]!]}))
        for (const [j, c] of t.chains.entries()) expect(c.rules.length + (c.unbuilt?.rules ?? 0)).toBe(full.facts.tables[i]!.chains[j]!.rules.length)
      }
    })
  }
})

describe('usagesFromNft', () => {
  it('shows a rule as trace does (nft list syntax, comment last)', () => {
    const tables = parseNftJson(testdata('marks/nft/k3s-kube-proxy-nftables-mode-table.nft.json')).facts.tables
    const u = usagesFromNft(tables, new UsageIds())
    expect(u.map((x) => [x.where.place, x.raw])).toEqual([
      ['nft ip kube-proxy masquerading #1', 'meta mark & 0x4000 == 0x0 return'],
      ['nft ip kube-proxy masquerading #2', 'meta mark set meta mark ^ 0x4000'],
      ['nft ip kube-proxy mark-for-masquerade #1', 'meta mark set meta mark | 0x4000'],
    ])
  })
})
