import type {Device} from '../model/hooks.js'
import {parseIpLinkJson} from './ip-link.js'
import {parseIpRouteJson} from './ip-route.js'
import type {Route} from '../model/routing.js'
import {problem} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'

/**
 * Replay only: snapshots taken by nodeinspect before the helper's `netns-dump` hold every named netns's addresses
 * and routes as `ip -all netns exec ip -j addr show` printed them (`netns: NAME` and then that namespace's JSON).
 * It is no longer run: iproute2 forks once per namespace and, for each one it cannot enter, doubles its processes
 * (docs/netns.md); src/probes/netns-dump.ts reads only the namespaces needed, in one process.
 */
export const IP_ALL_NETNS_ADDR_ARGV = ['ip', '-all', 'netns', 'exec', 'ip', '-j', 'addr', 'show'] as const
export const IP_ALL_NETNS_ROUTE_ARGV = ['ip', '-all', 'netns', 'exec', 'ip', '-j', 'route', 'show', 'table', 'all'] as const

/** Split `ip -all netns exec` output into each namespace's body, then parse each with `parse`. */
function perNetns<T>(probe: string, text: string, parse: (body: string) => Parsed<T>): Parsed<Map<string, T>> {
  const facts = new Map<string, T>()
  const problems: ParseProblem[] = []
  let name: string | undefined
  let buf: string[] = []
  const flush = () => {
    if (name === undefined) return
    const body = buf.join('\n').trim()
    if (body !== '') {
      const p = parse(body)
      for (const x of p.problems) problems.push({...x, message: `netns ${name}: ${x.message}`})
      facts.set(name, p.facts)
    }
    buf = []
  }
  text.split('\n').forEach((line, i) => {
    const m = /^netns: (\S+)$/.exec(line)
    if (m) {
      flush()
      name = m[1]
    } else if (name !== undefined) buf.push(line)
    else if (line.trim() !== '') problems.push(problem(probe, 'output before any "netns:" line', i + 1, line))
  })
  flush()
  return {facts, problems}
}

export function parseAllNetnsAddresses(text: string): Parsed<Map<string, Device[]>> {
  return perNetns('ip -all netns exec ip -j addr show', text, parseIpLinkJson)
}

/** Each body is `ip -j route show table all` (IPv4). */
export function parseAllNetnsRoutes(text: string): Parsed<Map<string, Route[]>> {
  return perNetns('ip -all netns exec ip -j route show table all', text, (b) => parseIpRouteJson(b, 'ipv4'))
}
