import {hex} from '../../model/mark.js'
import type {NodeState} from '../../model/node-state.js'
import type {IpRule, Route} from '../../model/routing.js'
import {multisetDiff} from './multiset.js'

export interface RouteChange {
  change: 'added' | 'removed'
  family: 'ipv4' | 'ipv6'
  table: string
  /** As `ip route` prints it: `10.42.0.0/24 via 10.42.0.247 dev cilium_host proto kernel scope link src 10.42.1.247`. */
  route: string
}

export interface IpRuleChange {
  change: 'added' | 'removed'
  family: string
  priority: number
  /** As `ip rule` prints it: `9: from all fwmark 0x200/0xf00 lookup 2004`. */
  rule: string
}

/** A route in ip's words, without its state flags (linkdown, offload…: they come and go with the link, the route stays). @internal tested directly */
export function routeText(r: Route): string {
  const parts = [r.type !== 'unicast' ? `${r.type} ${r.dst}` : r.dst]
  if (r.gateway) parts.push(`via ${r.gateway}`)
  if (r.dev) parts.push(`dev ${r.dev}`)
  if (r.protocol) parts.push(`proto ${r.protocol}`)
  if (r.scope) parts.push(`scope ${r.scope}`)
  if (r.prefsrc) parts.push(`src ${r.prefsrc}`)
  if (r.metric !== undefined) parts.push(`metric ${r.metric}`)
  return parts.join(' ')
}

function prefix(p: {address: string; prefixLen: number} | undefined): string {
  if (!p) return 'all'
  return p.prefixLen === 32 || p.prefixLen === 128 ? p.address : `${p.address}/${p.prefixLen}`
}

function actionText(r: IpRule): string {
  const a = r.action
  switch (a.kind) {
    case 'table':
      return `lookup ${a.table}`
    case 'goto':
      return `goto ${a.target ?? 'none'}`
    case 'nat':
      return a.mapTo ? `map-to ${a.mapTo}` : 'nat'
    case 'l3mdev':
      return 'lookup [l3mdev-table]'
    case 'other':
      return a.type
    default:
      return a.kind
  }
}

/** An ip rule in ip's words. @internal tested directly */
export function ipRuleText(r: IpRule): string {
  const parts = [`${r.priority}:`, r.not ? 'not' : '', `from ${prefix(r.from)}`, r.to ? `to ${prefix(r.to)}` : '']
  if (r.tos) parts.push(`tos ${r.tos}`)
  if (r.fwmark) parts.push(`fwmark ${hex(r.fwmark.value)}${(r.fwmark.mask >>> 0) === 0xffffffff ? '' : `/${hex(r.fwmark.mask)}`}`)
  if (r.iif) parts.push(`iif ${r.iif.name}`)
  if (r.oif) parts.push(`oif ${r.oif.name}`)
  if (r.uidRange) parts.push(`uidrange ${r.uidRange.start}-${r.uidRange.end}`)
  if (r.ipproto) parts.push(`ipproto ${r.ipproto}`)
  if (r.sport) parts.push(`sport ${r.sport.from}${r.sport.to !== r.sport.from ? `-${r.sport.to}` : ''}`)
  if (r.dport) parts.push(`dport ${r.dport.from}${r.dport.to !== r.dport.from ? `-${r.dport.to}` : ''}`)
  if (r.tunId !== undefined) parts.push(`tun_id ${r.tunId}`)
  parts.push(actionText(r))
  if (r.suppressPrefixLength !== undefined) parts.push(`suppress_prefixlength ${r.suppressPrefixLength}`)
  if (r.suppressIfgroup) parts.push(`suppress_ifgroup ${r.suppressIfgroup}`)
  if (r.realms) parts.push(`realms ${r.realms.from ? `${r.realms.from}/` : ''}${r.realms.to}`)
  if (r.protocol) parts.push(`proto ${r.protocol}`)
  return parts.filter(Boolean).join(' ')
}

/** Routes added or removed in any table (main, local, a policy table…). */
export function diffRoutes(a: NodeState, b: NodeState): RouteChange[] {
  const of = (s: NodeState) => s.hooks.routes.map((r) => ({family: r.family, table: r.table, route: routeText(r)}))
  const {removed, added} = multisetDiff(of(a), of(b), (r) => `${r.family} ${r.table} ${r.route}`)
  return [...removed.map((r) => ({change: 'removed' as const, ...r})), ...added.map((r) => ({change: 'added' as const, ...r}))]
}

/** Policy-routing rules added or removed. */
export function diffIpRules(a: NodeState, b: NodeState): IpRuleChange[] {
  const of = (s: NodeState) => s.ipRules.map((r) => ({family: r.family, priority: r.priority, rule: ipRuleText(r)}))
  const {removed, added} = multisetDiff(of(a), of(b), (r) => `${r.family} ${r.rule}`)
  return [...removed.map((r) => ({change: 'removed' as const, ...r})), ...added.map((r) => ({change: 'added' as const, ...r}))]
}
