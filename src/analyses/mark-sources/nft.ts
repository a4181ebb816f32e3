import type {AttributionSignals} from '../../knowledge/mark-owners.js'
import {nftChainGraph, reachersOf} from '../../model/chain-graph.js'
import {FULL_MASK, formatMarkOp, hex} from '../../model/mark.js'
import type {NftTable} from '../../model/netfilter.js'
import type {MarkLocation, MarkUsage} from '../mark-usage.js'
import {renderRule} from '../netfilter-eval/nft-render.js'
import type {MarkSource} from './source.js'
import {enrich, matchUsage, writeUsage, type UsageIds} from './usage.js'

/** Mark matches and writes of native nft tables (iptables-nft tables are read through iptables-save instead). @internal tested directly (a test seam) */
export function usagesFromNft(tables: readonly NftTable[], ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  for (const t of tables) {
    const graph = nftChainGraph(t)
    const tname = graph.table
    for (const c of t.chains) {
      for (const r of c.rules) {
        if (r.markMatches.length === 0 && r.markWrites.length === 0) continue
        const reach = c.base ? [] : reachersOf(graph, c.name)
        const hooks = c.base ? [`${tname}/${c.name} (${c.base.hook} prio ${c.base.prio})`] : reach.length ? [...new Set(reach.map((x) => `${x.table}/${x.builtin}`))] : ['unreachable (no base chain jumps here)']
        const where: MarkLocation = {table: tname, chain: c.name, position: r.position, hooks, place: `nft ${tname} ${c.name} #${r.position}`, showHooks: true}
        const raw = renderRule(r)
        const signals: AttributionSignals = {chain: c.name, nftTable: t.name, comments: r.comment ? [r.comment] : [], reachedFrom: reach.flatMap((x) => x.path.slice(0, -1).reverse())}
        for (const m of r.markMatches) {
          const mark = m.mark ?? {value: 0, mask: FULL_MASK}
          const negated = m.op === '!='
          const u = matchUsage(ids.next(), 'nft', m.on, mark, negated, {...where}, raw, `${m.on === 'packet' ? 'meta mark' : 'ct mark'}${mark.mask !== FULL_MASK ? ` & ${hex(mark.mask)}` : ''} ${m.op} ${m.mark ? hex(mark.value) : JSON.stringify(m.right)}`)
          if (!m.mark) u.uncertain = `compared with ${JSON.stringify(m.right)} (a set, range or map: every bit may be compared)`
          out.push(enrich(u, signals))
        }
        for (const w of r.markWrites) {
          if (w.op) out.push(enrich(writeUsage(ids.next(), 'nft', w.op, {...where}, raw, 'rule', `${w.target === 'packet' ? 'meta mark set' : 'ct mark set'} ${formatMarkOp(w.op)}`), signals))
          else {
            const u = writeUsage(ids.next(), 'nft', {kind: 'set', target: w.target, value: 0}, {...where}, raw, 'rule', `${w.target === 'packet' ? 'meta mark set' : 'ct mark set'} ${JSON.stringify(w.value)}`)
            u.uncertain = `value ${JSON.stringify(w.value)} is not a constant: any bit may be written`
            u.setsBits = FULL_MASK
            out.push(enrich(u, signals))
          }
        }
      }
    }
  }
  return out
}

/** Native nft tables. */
export const nftSource: MarkSource = {
  id: 'nft',
  reads: ['nft'],
  usages: (facts, ids) => (facts.nft ? usagesFromNft(facts.nft, ids) : []),
}
