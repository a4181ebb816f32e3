import type {Device} from '../model/hooks.js'
import type {RawOutput, Source} from '../source/types.js'
import {parseIpLinkJson} from './ip-link.js'
import {parseIpRouteJson, type Route} from './ip-route.js'
import {problem, type Parsed, type ParseProblem} from './parsed.js'

/**
 * Every named netns's addresses in one process: `ip -all netns exec ip -j addr show` prints, per namespace,
 * `netns: NAME` and then that namespace's JSON. Used to find which pod owns an address (a pod's netns is the
 * peer of a host-side veth). One spawn from here; ip forks once per namespace.
 */
export const IP_ALL_NETNS_ADDR_ARGV = ['ip', '-all', 'netns', 'exec', 'ip', '-j', 'addr', 'show'] as const
/** Every named netns's routes (for pods' own route lookups when replaying a snapshot). */
export const IP_ALL_NETNS_ROUTE_ARGV = ['ip', '-all', 'netns', 'exec', 'ip', '-j', 'route', 'show', 'table', 'all'] as const

export const collectAllNetnsAddresses = (src: Source): Promise<RawOutput> => src.run({argv: IP_ALL_NETNS_ADDR_ARGV, timeoutMs: 30_000})
export const collectAllNetnsRoutes = (src: Source): Promise<RawOutput> => src.run({argv: IP_ALL_NETNS_ROUTE_ARGV, timeoutMs: 30_000})

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
