import {asArray, num} from './bpftool-net.js'
import {parseJson, problem, rawJson, shown} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import type {Neighbour, Route} from '../model/routing.js'
import {probe} from './descriptor.js'

/** Every routing table, IPv4 and IPv6: `ip -j route show table all` (and `-6`). */
const IP_ROUTE_ARGV = {ipv4: ['ip', '-j', '-4', 'route', 'show', 'table', 'all'], ipv6: ['ip', '-j', '-6', 'route', 'show', 'table', 'all']} as const
/** Neighbours of both families: on a Cilium/Calico node the pod IPs appear here on their host-side veth. */
const IP_NEIGH_ARGV = ['ip', '-j', 'neigh', 'show'] as const

export const routesProbe = (family: 'ipv4' | 'ipv6') => probe({argv: IP_ROUTE_ARGV[family]}, (t) => parseIpRouteJson(t, family), [] as Route[])
export const neighboursProbe = probe({argv: IP_NEIGH_ARGV}, (t) => parseIpNeighJson(t), [] as Neighbour[])

/** e.g. `{"dst":"10.42.0.0/24","gateway":"10.42.0.247","dev":"cilium_vxlan","table":"main","flags":["onlink"]}`; `type` is omitted for unicast. */
export function parseIpRouteJson(text: string, family: 'ipv4' | 'ipv6'): Parsed<Route[]> {
  const probe = `ip -j ${family === 'ipv4' ? '-4' : '-6'} route show table all`
  if (text.trim() === '') return {facts: [], problems: []}
  const {value, problem: p} = parseJson(probe, text)
  if (p) return {facts: [], problems: [p]}
  if (!Array.isArray(value)) return {facts: [], problems: [problem(probe, 'expected a list of routes')]}
  const facts: Route[] = []
  const problems: ParseProblem[] = []
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    if (typeof e.dst !== 'string') {
      problems.push(problem(probe, 'route lacks dst', undefined, rawJson(v)))
      continue
    }
    const r: Route = {family, dst: e.dst, type: typeof e.type === 'string' ? e.type : 'unicast', table: typeof e.table === 'string' ? e.table : 'main', flags: asArray(e.flags).map(shown)}
    for (const k of ['dev', 'gateway', 'prefsrc', 'scope', 'protocol'] as const) if (typeof e[k] === 'string') r[k] = e[k] as string
    if (num(e.metric) !== undefined) r.metric = num(e.metric)
    facts.push(r)
  }
  return {facts, problems}
}

/** e.g. `{"dst":"10.42.1.80","dev":"lxc48c4aa0637ce","lladdr":"f6:00:50:f9:92:a1","state":["REACHABLE"]}` @internal tested directly (a test seam) */
export function parseIpNeighJson(text: string): Parsed<Neighbour[]> {
  const probe = 'ip -j neigh show'
  if (text.trim() === '') return {facts: [], problems: []}
  const {value, problem: p} = parseJson(probe, text)
  if (p) return {facts: [], problems: [p]}
  if (!Array.isArray(value)) return {facts: [], problems: [problem(probe, 'expected a list of neighbours')]}
  const facts: Neighbour[] = []
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    if (typeof e.dst !== 'string' || typeof e.dev !== 'string') continue
    const n: Neighbour = {dst: e.dst, dev: e.dev, state: asArray(e.state).map(shown)}
    if (typeof e.lladdr === 'string') n.lladdr = e.lladdr
    facts.push(n)
  }
  return {facts, problems: []}
}
