import type {Device} from '../model/hooks.js'
import type {RawOutput, Source} from '../source/types.js'
import {BPF_HELPER} from '../source/live.js'
import {num} from './bpftool-net.js'
import {parseIpLinkJson} from './ip-link.js'
import {parseIpRouteJson} from './ip-route.js'
import type {Route} from '../model/routing.js'
import {parseJson, problem} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'

/**
 * The links, addresses and routes of the named namespaces given, read by the project's helper in ONE process
 * (native/nodeinspect-bpf.c `netns-dump`: setns(2) into each, then rtnetlink dumps), whatever their number. The
 * names are in the argv, so a snapshot files the output under exactly the namespaces that were asked.
 * It replaces `ip -all netns exec`, which forks once per namespace and, for each one it cannot enter, doubles
 * its processes (docs/netns.md).
 */
const netnsDumpArgv = (names: readonly string[]): string[] => [BPF_HELPER, 'netns-dump', ...names]
export const NETNS_DUMP_PROBE = 'nodeinspect-bpf netns-dump'

export const collectNetnsDump = (src: Source, names: readonly string[]): Promise<RawOutput> => src.run({argv: netnsDumpArgv(names), timeoutMs: 30_000})

/** Why one namespace could not be read: the helper's `error` word. */
type NetnsReadErrorKind = 'permission' | 'stale' | 'missing' | 'netlink' | 'other'

export interface NetnsReadError {
  netns: string
  kind: NetnsReadErrorKind
  message: string
}

export interface NetnsDumpFacts {
  /** Each namespace's devices with their addresses, in the `ip -j -d addr show` model. */
  devices: Map<string, Device[]>
  /** Each namespace's routes, every table, both families. */
  routes: Map<string, Route[]>
  errors: NetnsReadError[]
  /** The helper stopped at the first setns EPERM (every other namespace would fail the same way). */
  stopped?: {reason: string; unread: number}
}

const KINDS: Record<string, NetnsReadErrorKind> = {permission: 'permission', stale: 'stale', missing: 'missing', netlink: 'netlink'}

/**
 * e.g. `{"helper":"nodeinspect-bpf","version":1,"netns":[{"netns":"cni-1","links":[{"ifindex":2,"ifname":"eth0",
 * "link_index":43,"link_netnsid":0,"linkinfo":{"info_kind":"veth"},"addr_info":[{"family":"inet","local":"10.42.1.80",
 * "prefixlen":32,"scope":"global"}]}],"routes":[{"family":"inet","dst":"default","gateway":"10.42.1.247","dev":"eth0",
 * "table":"main","type":"unicast","protocol":"boot","flags":[]}]},{"netns":"gone","error":"stale","errno":22,"message":"…"}]}`.
 * Links and routes carry iproute2's JSON keys: the `ip -j` parsers read them.
 */
export function parseNetnsDump(text: string): Parsed<NetnsDumpFacts> {
  const facts: NetnsDumpFacts = {devices: new Map(), routes: new Map(), errors: []}
  const {value, problem: p} = parseJson(NETNS_DUMP_PROBE, text)
  if (p) return {facts, problems: [p]}
  const d = (value ?? {}) as Record<string, unknown>
  if (typeof d !== 'object' || Array.isArray(d)) return {facts, problems: [problem(NETNS_DUMP_PROBE, 'expected a JSON object')]}
  if (typeof d.error === 'string') return {facts, problems: [problem(NETNS_DUMP_PROBE, `helper error: ${d.error}`)]}
  if (d.helper !== 'nodeinspect-bpf' || d.version !== 1 || !Array.isArray(d.netns))
    return {facts, problems: [problem(NETNS_DUMP_PROBE, `unknown helper output (helper ${JSON.stringify(d.helper)}, version ${JSON.stringify(d.version)}, netns ${Array.isArray(d.netns) ? 'a list' : 'not a list'})`)]}
  const problems: ParseProblem[] = []
  for (const v of d.netns) {
    const e = (v ?? {}) as Record<string, unknown>
    const name = e.netns
    if (typeof name !== 'string' || name === '') {
      problems.push(problem(NETNS_DUMP_PROBE, 'namespace entry lacks its name', undefined, JSON.stringify(v)))
      continue
    }
    if (typeof e.error === 'string') {
      facts.errors.push({netns: name, kind: KINDS[e.error] ?? 'other', message: typeof e.message === 'string' ? e.message : e.error})
      continue
    }
    if (!Array.isArray(e.links) || !Array.isArray(e.routes)) {
      problems.push(problem(NETNS_DUMP_PROBE, `netns ${name}: lacks links or routes`, undefined, JSON.stringify(v)))
      continue
    }
    const links = parseIpLinkJson(JSON.stringify(e.links))
    const routes: Route[] = []
    const byFamily = {ipv4: [] as unknown[], ipv6: [] as unknown[]}
    for (const r of e.routes) {
      const fam = (r as Record<string, unknown> | null)?.family
      if (fam === 'inet') byFamily.ipv4.push(r)
      else if (fam === 'inet6') byFamily.ipv6.push(r)
      else problems.push(problem(NETNS_DUMP_PROBE, `netns ${name}: route of unknown family`, undefined, JSON.stringify(r)))
    }
    const parsedRoutes = (['ipv4', 'ipv6'] as const).map((f) => (byFamily[f].length ? parseIpRouteJson(JSON.stringify(byFamily[f]), f) : {facts: [], problems: []}))
    for (const pr of parsedRoutes) routes.push(...pr.facts)
    for (const x of [...links.problems, ...parsedRoutes.flatMap((pr) => pr.problems)]) problems.push({...x, probe: NETNS_DUMP_PROBE, message: `netns ${name}: ${x.message}`})
    if (e.dump_interrupted === true) problems.push(problem(NETNS_DUMP_PROBE, `netns ${name}: a dump was interrupted by a concurrent change (NLM_F_DUMP_INTR): it may be incomplete`))
    facts.devices.set(name, links.facts)
    facts.routes.set(name, routes)
  }
  const st = d.stopped as Record<string, unknown> | undefined
  if (st && typeof st === 'object') facts.stopped = {reason: typeof st.reason === 'string' ? st.reason : 'unknown', unread: num(st.unread) ?? 0}
  return {facts, problems}
}
