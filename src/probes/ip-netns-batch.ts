import type {Device} from '../model/hooks.js'
import type {RawOutput, Source} from '../source/types.js'
import {parseIpLinkJson} from './ip-link.js'
import {parseIpRouteJson} from './ip-route.js'
import type {Route} from '../model/routing.js'
import {problem} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'

/**
 * The fallback when the helper is not built: one namespace's addresses and routes with one `ip -n NAME` (iproute2
 * enters the namespace once, netns_switch(), and runs both commands of the batch there): one process per namespace.
 */
const ipNetnsBatchArgv = (name: string): string[] => ['ip', '-n', name, '-j', '-batch', '-']
const IP_NETNS_BATCH_INPUT = 'addr show\nroute show table all\n'

export const collectIpNetnsBatch = (src: Source, name: string): Promise<RawOutput> => src.run({argv: ipNetnsBatchArgv(name), input: IP_NETNS_BATCH_INPUT, timeoutMs: 10_000})

/**
 * Two JSON lists, one per line: `ip -j addr show`, then `ip -j route show table all`, which holds both families
 * without saying which: an IPv6 route is the one with an address containing ':' or iproute2's `pref` (RTA_PREF,
 * IPv6 only).
 */
export function parseIpNetnsBatch(name: string, text: string): Parsed<{devices: Device[]; routes: Route[]}> {
  const probe = `ip -n ${name} -j -batch -`
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  if (lines.length < 1) return {facts: {devices: [], routes: []}, problems: [problem(probe, 'empty output')]}
  const problems: ParseProblem[] = []
  const links = parseIpLinkJson(lines[0]!)
  problems.push(...links.problems.map((x) => ({...x, probe})))
  const routes: Route[] = []
  if (lines.length < 2) problems.push(problem(probe, 'no route list (second line)'))
  else {
    let list: unknown
    try {
      list = JSON.parse(lines[1]!)
    } catch (e) {
      problems.push(problem(probe, `routes: not valid JSON: ${(e as Error).message}`, 2, lines[1]))
    }
    if (list !== undefined && !Array.isArray(list)) problems.push(problem(probe, 'routes: expected a list', 2))
    else if (Array.isArray(list)) {
      const v6 = (r: Record<string, unknown>) => 'pref' in r || [r.dst, r.gateway, r.prefsrc].some((x) => typeof x === 'string' && x.includes(':'))
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const part = list.filter((r) => v6((r ?? {}) as Record<string, unknown>) === (fam === 'ipv6'))
        if (part.length === 0) continue
        const pr = parseIpRouteJson(JSON.stringify(part), fam)
        routes.push(...pr.facts)
        problems.push(...pr.problems.map((x) => ({...x, probe})))
      }
    }
  }
  return {facts: {devices: links.facts, routes}, problems}
}
