/** Routing facts of a node: routes, neighbours, policy-routing rules and VXLAN forwarding entries. */

import type {Mark} from './mark.js'
import type {IpFamily, PortRange} from './netfilter.js'

export interface Route {
  family: 'ipv4' | 'ipv6'
  /** "default" or a prefix ("10.42.0.0/24"; a host route is printed without /32 by ip). */
  dst: string
  type: string
  table: string
  dev?: string
  gateway?: string
  prefsrc?: string
  scope?: string
  protocol?: string
  metric?: number
  flags: string[]
}

export interface Neighbour {
  dst: string
  dev: string
  lladdr?: string
  state: string[]
}

/** A prefix as ip prints it; absent `from`/`to` on the rule means "all". */
export interface IpRulePrefix {
  address: string
  prefixLen: number
}

export type IpRuleAction =
  | {kind: 'table'; table: string}
  /** `goto N`: continue at the first rule with priority ≥ N; `target` absent for "goto none". */
  | {kind: 'goto'; target?: number; unresolved: boolean}
  | {kind: 'nop'}
  /** `lookup [l3mdev-table]`: the table of the VRF device the packet's interface belongs to. */
  | {kind: 'l3mdev'}
  /** Obsolete RTN_NAT rules (`map-to ADDR`, or `masquerade`). */
  | {kind: 'nat'; mapTo?: string}
  /** blackhole, unreachable, prohibit, throw, or another route type name. */
  | {kind: 'blackhole' | 'unreachable' | 'prohibit' | 'throw'}
  | {kind: 'other'; type: string}

export interface IpRule {
  family: IpFamily
  priority: number
  /** `not`: the selectors are inverted (FIB_RULE_INVERT). */
  not: boolean
  from?: IpRulePrefix
  to?: IpRulePrefix
  tos?: string
  /** `fwmark 0x80/0x80` → {value: 0x80, mask: 0x80}; mask 0xffffffff when ip printed none. */
  fwmark?: Mark
  iif?: {name: string; detached: boolean}
  oif?: {name: string; detached: boolean}
  uidRange?: {start: number; end: number}
  ipproto?: string
  sport?: PortRange
  dport?: PortRange
  tunId?: number
  action: IpRuleAction
  suppressPrefixLength?: number
  suppressIfgroup?: string
  realms?: {from?: string; to: string}
  /** Who installed it (`proto static`), printed when not "boot"/"kernel" (or with -d). */
  protocol?: string
  /** Text input only: the 1-based line and the line itself. */
  line?: number
  raw?: string
}

export interface FdbEntry {
  mac: string
  /** The port (or the device itself, for `self` entries). */
  dev: string
  /** The bridge whose FDB holds it (a port's entry); absent for a device's own (`self`) entries. */
  master?: string
  /** `self`: the device's own table (a VXLAN's); no `self` with a master: the bridge's entry for that port. */
  flags?: string[]
  /** Remote VTEP for vxlan entries. */
  dst?: string
  vni?: number
  /** The VLAN the entry is for, on a bridge with VLAN filtering: br_fdb_find_rcu looks a MAC up per VLAN (kn-23). */
  vlan?: number
  state?: string
}

/** A route lookup: what the kernel's fib_lookup is asked for a packet. */
export interface RouteQuery {
  family: 'ipv4' | 'ipv6'
  dst: string
  src?: string
  /** Input device for a received packet; absent for one the node sends itself (then iif is lo). */
  iif?: string
  oif?: string
  mark: number
}

export interface RouteAnswer {
  /** unicast, local, blackhole, unreachable, prohibit, broadcast… */
  type: string
  dev?: string
  gateway?: string
  prefsrc?: string
  table?: string
  /** The ip rule that selected the table. */
  rulePriority?: number
  /** The matching route as ip prints it. */
  route?: string
  evidence: 'kernel' | 'rule'
  /** What was asked and how it was answered. */
  detail: string
  /** The kernel refused (no route, rp_filter…): its own words. */
  error?: string
}
