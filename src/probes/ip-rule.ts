/**
 * Policy routing rules: `ip -j rule show` (and `-6`), plus the text form (`ip rule`) that published captures use.
 * Field names and print order follow iproute2 6.1 ip/iprule.c print_rule(); the gotchas (docs/kernel-notes.md#kn-6-ip-rule-json): fwmark and
 * fwmask are hex strings, `not` / `iif_detached` are keys with a null value, `/32` sources carry no srclen,
 * non-table actions come as `action`, `goto` or a bare key (`nop`, `l3mdev`).
 */
import {FULL_MASK, parseU32, } from '../model/mark.js'
import type {IpFamily, PortRange} from '../model/netfilter.js'
import {probe} from './descriptor.js'
import {parseJson, problem, rawJson, shown} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import type {IpRule, IpRuleAction, IpRulePrefix} from '../model/routing.js'

/** @internal tested directly (a test seam) */
export const IP_RULE_ARGV = {ipv4: ['ip', '-j', '-4', 'rule', 'show'], ipv6: ['ip', '-j', '-6', 'rule', 'show']} as const

export const ipRulesProbe = (family: IpFamily) => probe({argv: IP_RULE_ARGV[family]}, (t) => parseIpRuleJson(t, family), [] as IpRule[])

const ROUTE_TYPE_ACTIONS = new Set(['blackhole', 'unreachable', 'prohibit', 'throw'])

function hostLen(family: IpFamily): number {
  return family === 'ipv6' ? 128 : 32
}

function probeName(family: IpFamily, json: boolean): string {
  return `ip${json ? ' -j' : ''} ${family === 'ipv6' ? '-6' : '-4'} rule show`
}

/** "0x80" (what ip prints) or a number; undefined if neither. */
function hexOrNum(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= FULL_MASK) return v
  if (typeof v === 'string') {
    const r = parseU32(v)
    return 'value' in r ? r.value : undefined
  }
  return undefined
}

const JSON_KEYS = new Set([
  'priority', 'not', 'src', 'srclen', 'dst', 'dstlen', 'tos', 'fwmark', 'fwmask', 'iif', 'iif_detached', 'oif', 'oif_detached', 'l3mdev',
  'uid_start', 'uid_end', 'ipproto', 'sport', 'sport_start', 'sport_end', 'dport', 'dport_start', 'dport_end', 'tun_id', 'table',
  'suppress_prefixlen', 'suppress_ifgroup', 'flow_from', 'flow_to', 'nat_gateway', 'masquerade', 'goto', 'unresolved', 'nop', 'action',
  'protocol', 'deleted',
])

/**
 * `ip -j rule show`, e.g. `{"priority":9,"src":"all","fwmark":"0x200","fwmask":"0xf00","table":"2004"}` or
 * `{"priority":150,"src":"all","fwmark":"0x4000","fwmask":"0x4000","iif":"ni-h1","iif_detached":null,"action":"blackhole"}`.
 * @internal tested directly (a test seam)
 */
export function parseIpRuleJson(text: string, family: IpFamily): Parsed<IpRule[]> {
  const probe = probeName(family, true)
  const {value, problem: p} = parseJson(probe, text)
  if (p) return {facts: [], problems: [p]}
  if (!Array.isArray(value)) return {facts: [], problems: [problem(probe, 'expected a list of rules', undefined, text.slice(0, 200))]}
  const facts: IpRule[] = []
  const problems: ParseProblem[] = []
  value.forEach((v, i) => {
    const bad = (msg: string) => problems.push(problem(probe, `rule ${i}: ${msg}`, undefined, rawJson(v)))
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('not an object')
    const e = v as Record<string, unknown>
    for (const k of Object.keys(e)) if (!JSON_KEYS.has(k)) bad(`unknown field "${k}"`)
    const priority = typeof e.priority === 'number' ? e.priority : undefined
    if (priority === undefined) return bad('no priority')
    const r: Omit<IpRule, 'action'> & {action?: IpRuleAction} = {family, priority, not: 'not' in e}
    const prefix = (addr: unknown, len: unknown, what: string): IpRulePrefix | undefined => {
      if (addr === undefined || addr === 'all') return undefined
      if (typeof addr !== 'string') {
        bad(`${what} is not a string`)
        return undefined
      }
      if (len !== undefined && typeof len !== 'number') bad(`${what}len is not a number`)
      return {address: addr, prefixLen: typeof len === 'number' ? len : hostLen(family)}
    }
    const from = prefix(e.src, e.srclen, 'src')
    if (from) r.from = from
    const to = prefix(e.dst, e.dstlen, 'dst')
    if (to) r.to = to
    if (typeof e.tos === 'string') r.tos = e.tos
    if (e.fwmark !== undefined || e.fwmask !== undefined) {
      const value = e.fwmark === undefined ? 0 : hexOrNum(e.fwmark)
      const mask = e.fwmask === undefined ? FULL_MASK : hexOrNum(e.fwmask)
      if (value === undefined || mask === undefined) bad(`bad fwmark "${shown(e.fwmark)}"/"${shown(e.fwmask)}"`)
      else r.fwmark = {value, mask}
    }
    if (typeof e.iif === 'string') r.iif = {name: e.iif, detached: 'iif_detached' in e}
    if (typeof e.oif === 'string') r.oif = {name: e.oif, detached: 'oif_detached' in e}
    if (typeof e.uid_start === 'number' && typeof e.uid_end === 'number') r.uidRange = {start: e.uid_start, end: e.uid_end}
    if (typeof e.ipproto === 'string') r.ipproto = e.ipproto
    const port = (single: unknown, start: unknown, end: unknown): PortRange | undefined =>
      typeof single === 'number' ? {from: single, to: single} : typeof start === 'number' && typeof end === 'number' ? {from: start, to: end} : undefined
    const sport = port(e.sport, e.sport_start, e.sport_end)
    if (sport) r.sport = sport
    const dport = port(e.dport, e.dport_start, e.dport_end)
    if (dport) r.dport = dport
    if (typeof e.tun_id === 'number') r.tunId = e.tun_id
    if (typeof e.suppress_prefixlen === 'number') r.suppressPrefixLength = e.suppress_prefixlen
    if (typeof e.suppress_ifgroup === 'string') r.suppressIfgroup = e.suppress_ifgroup
    if (typeof e.flow_to === 'string') r.realms = typeof e.flow_from === 'string' ? {from: e.flow_from, to: e.flow_to} : {to: e.flow_to}
    if (typeof e.protocol === 'string') r.protocol = e.protocol
    // The action: exactly one of these, in print_rule's order.
    if (typeof e.table === 'string') r.action = {kind: 'table', table: e.table}
    else if ('l3mdev' in e) r.action = {kind: 'l3mdev'}
    if ('nat_gateway' in e || 'masquerade' in e) r.action = typeof e.nat_gateway === 'string' ? {kind: 'nat', mapTo: e.nat_gateway} : {kind: 'nat'}
    else if ('goto' in e) {
      const a: IpRuleAction = {kind: 'goto', unresolved: 'unresolved' in e}
      if (typeof e.goto === 'number') a.target = e.goto
      else if (e.goto !== 'none') bad(`bad goto "${shown(e.goto)}"`)
      r.action = a
    } else if ('nop' in e) r.action = {kind: 'nop'}
    else if (typeof e.action === 'string') r.action = routeTypeAction(e.action)
    if (!r.action) return bad('no action (table, goto, nop or a route type)')
    facts.push(r as IpRule)
  })
  return {facts, problems}
}

function routeTypeAction(t: string): IpRuleAction {
  return ROUTE_TYPE_ACTIONS.has(t) ? {kind: t as 'blackhole'} : {kind: 'other', type: t}
}

/**
 * `ip rule` text, e.g. `9:	from all fwmark 0x200/0xf00 lookup 2004` (a TAB after the colon as iproute2 prints
 * it; published captures often have it expanded to spaces).
 * @internal tested directly (a test seam)
 */
export function parseIpRuleText(text: string, family: IpFamily): Parsed<IpRule[]> {
  const probe = probeName(family, false)
  const facts: IpRule[] = []
  const problems: ParseProblem[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1
    const raw = (lines[i] ?? '').replace(/\r$/, '')
    if (raw.trim() === '') continue
    // Not /^(\d+):\s+(.*?)\s*$/: a lazy group before \s*$ retries the trailing run at every position (quadratic).
    const m = /^(\d+):\s+(.*)$/.exec(raw)
    if (!m) {
      problems.push(problem(probe, 'not a rule line (expected "PRIORITY:<TAB>selectors action")', lineNo, raw))
      continue
    }
    const bad = (msg: string) => problems.push(problem(probe, msg, lineNo, raw))
    const w = m[2]!.trimEnd().split(/\s+/)
    const r: Omit<IpRule, 'action'> & {action?: IpRuleAction} = {family, priority: Number(m[1]), not: false, line: lineNo, raw}
    let k = 0
    const next = (what: string): string | undefined => {
      const v = w[k + 1]
      if (v === undefined) bad(`${what} without a value`)
      else k++
      return v
    }
    const detached = (): boolean => {
      if (w[k + 1] === '[detached]') {
        k++
        return true
      }
      return false
    }
    for (; k < w.length; k++) {
      const t = w[k]!
      switch (t) {
        case 'not':
          r.not = true
          break
        case 'from':
        case 'to': {
          const v = next(t)
          if (v === undefined || v === 'all') break
          const p = textPrefix(v, family)
          if (typeof p === 'string') bad(p)
          else if (t === 'from') r.from = p
          else r.to = p
          break
        }
        case 'tos':
        case 'dsfield': {
          const v = next(t)
          if (v !== undefined) r.tos = v
          break
        }
        case 'fwmark': {
          const v = next(t)
          if (v === undefined) break
          const [a, b] = v.split('/')
          const value = hexOrNum(a)
          const mask = b === undefined ? FULL_MASK : hexOrNum(b)
          if (value === undefined || mask === undefined || v.split('/').length > 2) bad(`bad fwmark "${v}"`)
          else r.fwmark = {value, mask}
          break
        }
        case 'iif':
        case 'oif': {
          const v = next(t)
          if (v !== undefined) r[t] = {name: v, detached: detached()}
          break
        }
        case 'uidrange': {
          const v = next(t)
          const mm = v === undefined ? null : /^(\d+)-(\d+)$/.exec(v)
          if (mm) r.uidRange = {start: Number(mm[1]), end: Number(mm[2])}
          else if (v !== undefined) bad(`bad uidrange "${v}"`)
          break
        }
        case 'ipproto': {
          const v = next(t)
          if (v !== undefined) r.ipproto = v
          break
        }
        case 'sport':
        case 'dport': {
          const v = next(t)
          const mm = v === undefined ? null : /^(\d+)(?:-(\d+))?$/.exec(v)
          if (mm) r[t] = {from: Number(mm[1]), to: Number(mm[2] ?? mm[1])}
          else if (v !== undefined) bad(`bad ${t} "${v}"`)
          break
        }
        case 'tun_id': {
          const v = next(t)
          if (v !== undefined && /^\d+$/.test(v)) r.tunId = Number(v)
          else if (v !== undefined) bad(`bad tun_id "${v}"`)
          break
        }
        case 'lookup':
        case 'table': {
          const v = next(t)
          if (v === '[l3mdev-table]') r.action = {kind: 'l3mdev'}
          else if (v !== undefined) r.action = {kind: 'table', table: v}
          break
        }
        case 'suppress_prefixlength': {
          const v = next(t)
          if (v !== undefined && /^-?\d+$/.test(v)) r.suppressPrefixLength = Number(v)
          else if (v !== undefined) bad(`bad suppress_prefixlength "${v}"`)
          break
        }
        case 'suppress_ifgroup': {
          const v = next(t)
          if (v !== undefined) r.suppressIfgroup = v
          break
        }
        case 'realms': {
          const v = next(t)
          if (v === undefined) break
          const slash = v.indexOf('/')
          r.realms = slash < 0 ? {to: v} : {from: v.slice(0, slash), to: v.slice(slash + 1)}
          break
        }
        case 'map-to': {
          const v = next(t)
          r.action = v === undefined ? {kind: 'nat'} : {kind: 'nat', mapTo: v}
          break
        }
        case 'masquerade':
          r.action = {kind: 'nat'}
          break
        case 'goto': {
          const v = next(t)
          if (v === undefined) break
          const a: IpRuleAction = {kind: 'goto', unresolved: false}
          if (/^\d+$/.test(v)) a.target = Number(v)
          else if (v !== 'none') bad(`bad goto "${v}"`)
          if (w[k + 1] === '[unresolved]') {
            a.unresolved = true
            k++
          }
          r.action = a
          break
        }
        case 'nop':
          r.action = {kind: 'nop'}
          break
        case 'proto': {
          const v = next(t)
          if (v !== undefined) r.protocol = v
          break
        }
        default:
          if (ROUTE_TYPE_ACTIONS.has(t)) r.action = routeTypeAction(t)
          else bad(`unknown word "${t}"`)
      }
    }
    if (!r.action) {
      bad('no action (lookup, goto, nop or a route type)')
      continue
    }
    facts.push(r as IpRule)
  }
  return {facts, problems}
}

function textPrefix(v: string, family: IpFamily): IpRulePrefix | string {
  const [addr, len] = v.split('/')
  if (!addr || (len !== undefined && !/^\d+$/.test(len))) return `bad prefix "${v}"`
  const isV6 = addr.includes(':')
  if (isV6 !== (family === 'ipv6') && addr !== '0') return `${isV6 ? 'IPv6' : 'IPv4'} prefix "${v}" in ${family === 'ipv6' ? 'an IPv6' : 'an IPv4'} rule list`
  return {address: addr, prefixLen: len === undefined ? hostLen(family) : Number(len)}
}
