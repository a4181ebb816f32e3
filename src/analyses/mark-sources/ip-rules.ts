import type {IpRule} from '../../model/routing.js'
import {markText, type MarkLocation, type MarkUsage} from '../mark-usage.js'
import type {MarkSource} from './source.js'
import {enrich, matchUsage, type UsageIds} from './usage.js'

/** `ip rule … fwmark V/M lookup T`: policy routing selected by mark bits (read from the kernel). @internal tested directly (a test seam) */
export function usagesFromIpRules(rules: readonly IpRule[], ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  for (const r of rules) {
    if (!r.fwmark) continue
    const selects = r.action.kind === 'table' ? `lookup ${r.action.table}` : r.action.kind === 'goto' ? `goto ${r.action.target ?? 'none'}` : r.action.kind === 'other' ? r.action.type : r.action.kind
    const where: MarkLocation = {hooks: [`ip rule (${r.family === 'ipv6' ? 'IPv6' : 'IPv4'} policy routing)`], priority: r.priority, selects, place: `ip rule pref ${r.priority}`, showHooks: false}
    const op = `${r.priority}: ${r.not ? 'not ' : ''}fwmark ${markText(r.fwmark.value, r.fwmark.mask)} ${selects}`
    const u = matchUsage(ids.next(), 'ip-rule', 'packet', r.fwmark, r.not, where, r.raw ?? op, op, 'route', 'kernel')
    out.push(enrich(u, {ipRuleTable: r.action.kind === 'table' ? r.action.table : undefined}))
  }
  return out
}

export const ipRulesSource: MarkSource = {
  id: 'ip-rule',
  reads: ['ipRules'],
  usages: (facts, ids) => usagesFromIpRules(facts.ipRules, ids),
}
