import type {AttributionSignals} from '../../knowledge/mark-owners.js'
import {xtChainGraph, reachersOf, type ChainReacher} from '../../model/chain-graph.js'
import {FULL_MASK, formatMarkOp} from '../../model/mark.js'
import {xtRuleMarkUses, type XtRuleset} from '../../model/netfilter.js'
import {markText, type MarkLocation, type MarkSubsystem, type MarkUsage} from '../mark-usage.js'
import type {MarkSource} from './source.js'
import {enrich, matchUsage, writeUsage, type UsageIds} from './usage.js'

/**
 * Every mark match and write of one iptables-save dump, with the built-in hooks that reach it (the table's chain
 * graph, which a dump parsed for marks keeps whole). Linear in rules.
 * @internal tested directly (a test seam)
 */
export function usagesFromXt(rs: XtRuleset, ids: UsageIds): MarkUsage[] {
  const subsystem: MarkSubsystem = `${rs.family === 'ipv6' ? 'ip6tables' : 'iptables'}${rs.backend === 'legacy' ? '-legacy' : ''}` as MarkSubsystem
  const out: MarkUsage[] = []
  for (const t of rs.tables) {
    // Indexed, and a chain with no rule built passed over first: a marks parse of kube-proxy's 40k chains builds
    // the rules of one or two, and this loop runs once, mostly before the optimizing compiler has seen it.
    const {chains} = t
    for (let ci = 0; ci < chains.length; ci++) {
      const c = chains[ci]!
      if (c.rules.length === 0) continue
      let reach: ChainReacher[] | undefined
      for (const r of c.rules) {
        const uses = xtRuleMarkUses(r)
        if (uses.length === 0) continue
        reach ??= c.builtin ? [] : reachersOf(xtChainGraph(t), c.name)
        const hooks = c.builtin ? [`${t.name}/${c.name}`] : reach.length ? [...new Set(reach.map((x) => `${t.name}/${x.builtin}`))] : ['unreachable (no built-in chain jumps here)']
        // A built-in chain's hook is its own place: nothing more to show.
        const where: MarkLocation = {table: t.name, chain: c.name, position: r.position, line: r.line, hooks, place: `${subsystem} ${t.name} ${c.name} #${r.position}`, showHooks: !c.builtin}
        const signals: AttributionSignals = {chain: c.name, comments: r.comments, reachedFrom: reach.flatMap((x) => x.path.slice(0, -1).reverse())}
        for (const use of uses) {
          let u: MarkUsage
          if (use.role === 'write') u = writeUsage(ids.next(), subsystem, use.op, {...where}, r.raw, 'rule', `${use.via} ${formatMarkOp(use.op)}`)
          else if (use.role === 'match') u = matchUsage(ids.next(), subsystem, use.on, use.mark, use.negated, {...where}, r.raw, `${use.via} ${use.negated ? '! ' : ''}--mark ${markText(use.mark.value, use.mark.mask)}`)
          else u = matchUsage(ids.next(), subsystem, use.on, {value: 0, mask: FULL_MASK}, false, {...where}, r.raw, use.via, 'lookup')
          out.push(enrich(u, signals))
        }
      }
    }
  }
  return out
}

/** iptables and ip6tables, both backends. */
export const iptablesSource: MarkSource = {
  id: 'iptables',
  reads: ['xt'],
  usages(facts, ids) {
    const out: MarkUsage[] = []
    // One loop per dump, never push(...xs): a large Calico node has ~120k uses.
    for (const rs of facts.xt) for (const u of usagesFromXt(rs, ids)) out.push(u)
    return out
  },
}
