import type {IpRule, Route, RouteAnswer, RouteQuery} from '../model/routing.js'
import {parsePrefix, prefixContains, type Prefix} from '../util/ip.js'

const TABLE_ALIASES: Record<string, string> = {'254': 'main', '255': 'local', '253': 'default'}
const tableName = (t: string): string => TABLE_ALIASES[t] ?? t

/**
 * The kernel's policy routing re-done on recorded `ip rule` and `ip route` tables, for snapshots (a live node is
 * asked directly). Rules by priority; a rule's selectors (from, to, fwmark/mask, iif, oif, `not`) must all hold;
 * `lookup T` takes the longest prefix of T (lowest metric on ties), `throw` and an empty table fall through to the
 * next rule, `goto` skips ahead, blackhole/unreachable/prohibit end the lookup.
 */
export function resolveRoute(rules: readonly IpRule[], routes: readonly Route[], q: RouteQuery): RouteAnswer {
  const fam = rules.filter((r) => r.family === q.family).sort((a, b) => a.priority - b.priority)
  const byTable = new Map<string, Array<{r: Route; p: Prefix}>>()
  for (const r of routes) {
    if (r.family !== q.family) continue
    const p = parsePrefix(r.dst, q.family)
    if (!p) continue
    const t = tableName(r.table)
    const list = byTable.get(t) ?? []
    list.push({r, p})
    byTable.set(t, list)
  }
  const asked = `${q.dst}${q.src ? ` from ${q.src}` : ''}${q.iif ? ` iif ${q.iif}` : ''}${q.oif ? ` oif ${q.oif}` : ''}${q.mark ? ` mark 0x${q.mark.toString(16)}` : ''}`
  const iif = q.iif ?? 'lo'
  let minPriority = -1
  for (const rule of fam) {
    if (rule.priority < minPriority) continue
    let ok = true
    if (rule.from && !(q.src && prefixContains(asPrefix(rule.from, q.family), q.src))) ok = rule.from.prefixLen === 0
    if (ok && rule.to) ok = prefixContains(asPrefix(rule.to, q.family), q.dst)
    if (ok && rule.fwmark) ok = ((q.mark & rule.fwmark.mask) >>> 0) === (rule.fwmark.value >>> 0)
    if (ok && rule.iif) ok = rule.iif.name === iif
    if (ok && rule.oif) ok = rule.oif.name === q.oif
    if (rule.not) ok = !ok
    if (!ok) continue
    const a = rule.action
    if (a.kind === 'goto') {
      if (a.target !== undefined) minPriority = a.target
      continue
    }
    if (a.kind === 'blackhole' || a.kind === 'unreachable' || a.kind === 'prohibit') {
      return {type: a.kind, rulePriority: rule.priority, evidence: 'rule', detail: `ip rule ${rule.priority} (${a.kind}) for ${asked}`}
    }
    if (a.kind !== 'table') continue
    const t = tableName(a.table)
    let best: {r: Route; p: Prefix} | undefined
    for (const c of byTable.get(t) ?? []) {
      if (!prefixContains(c.p, q.dst)) continue
      if (c.r.dev && q.oif && c.r.dev !== q.oif) continue
      if (!best || c.p.len > best.p.len || (c.p.len === best.p.len && (c.r.metric ?? 0) < (best.r.metric ?? 0))) best = c
    }
    if (!best) continue
    if (rule.suppressPrefixLength !== undefined && best.p.len <= rule.suppressPrefixLength) continue
    if (best.r.type === 'throw') continue
    const r = best.r
    const ans: RouteAnswer = {type: r.type, table: t, rulePriority: rule.priority, evidence: 'rule', route: routeText(r), detail: `computed from the recorded ip rules and table ${t} for ${asked} (rule ${rule.priority}, route ${routeText(r)})`}
    if (r.dev) ans.dev = r.dev
    if (r.gateway) ans.gateway = r.gateway
    if (r.prefsrc) ans.prefsrc = r.prefsrc
    return ans
  }
  return {type: 'unreachable', evidence: 'rule', detail: `no recorded route for ${asked}`, error: 'no route'}
}

function asPrefix(p: {address: string; prefixLen: number}, family: 'ipv4' | 'ipv6'): Prefix {
  return parsePrefix(`${p.address}/${p.prefixLen}`, family) ?? parsePrefix('default', family)!
}

function routeText(r: Route): string {
  return [r.type !== 'unicast' ? r.type : undefined, r.dst, r.gateway ? `via ${r.gateway}` : undefined, r.dev ? `dev ${r.dev}` : undefined, r.table !== 'main' ? `table ${r.table}` : undefined, r.prefsrc ? `src ${r.prefsrc}` : undefined]
    .filter(Boolean)
    .join(' ')
}
