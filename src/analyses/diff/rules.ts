import type {NodeState} from '../../model/node-state.js'
import {renderRule} from '../netfilter-eval/nft-render.js'
import {multisetDiff} from './multiset.js'

export interface RuleChange {
  change: 'added' | 'removed'
  /** iptables, ip6tables (nft backend), iptables-legacy, ip6tables-legacy; nft for native nft tables (`ip filter`). */
  engine: string
  table: string
  chain: string
  /** As iptables-save prints it (`-A CHAIN …`), or as `nft list` would (`meta mark set 0x1337`). Counters never. */
  rule: string
}

type Rule = Omit<RuleChange, 'change'>

/** Every rule of the node, in chain order. iptables-save runs without -c and nft's counters print as `counter`: no counts here. */
function rulesOf(s: NodeState): Rule[] {
  const out: Rule[] = []
  for (const rs of s.xt) {
    const engine = `${rs.family === 'ipv6' ? 'ip6tables' : 'iptables'}${rs.backend === 'legacy' ? '-legacy' : ''}`
    for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) out.push({engine, table: t.name, chain: c.name, rule: r.raw})
  }
  for (const t of s.nft ?? []) for (const c of t.chains) for (const r of c.rules) out.push({engine: 'nft', table: `${t.family} ${t.name}`, chain: c.name, rule: renderRule(r)})
  return out
}

const key = (r: Rule): string => `${r.engine}\u0000${r.table}\u0000${r.chain}\u0000${r.rule}`

/**
 * Rules added or removed, by table, chain and text: a rule inserted above others moves them, but they are the same
 * rules, so positions and handles do not count, nor do packet counters.
 */
export function diffRules(a: NodeState, b: NodeState): RuleChange[] {
  const {removed, added} = multisetDiff(rulesOf(a), rulesOf(b), key)
  return [...removed.map((r) => ({change: 'removed' as const, ...r})), ...added.map((r) => ({change: 'added' as const, ...r}))]
}
