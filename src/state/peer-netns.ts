import type {Device} from '../model/hooks.js'
import {IP_ALL_NETNS_ADDR_ARGV, IP_ALL_NETNS_ROUTE_ARGV, parseAllNetnsAddresses, parseAllNetnsRoutes} from '../probes/ip-netns-all.js'
import {collectIpNetnsBatch, parseIpNetnsBatch} from '../probes/ip-netns-batch.js'
import type {Route} from '../model/routing.js'
import {collectNetnsCheck, parseNetnsCheck, type NetnsCheckFacts} from '../probes/netns-check.js'
import {collectNetnsDump, NETNS_DUMP_PROBE, parseNetnsDump, type NetnsDumpFacts, type NetnsReadError} from '../probes/netns-dump.js'
import type {Warning} from '../model/warning.js'
import type {RawOutput, Source} from '../source/types.js'
import {take} from './run-probes.js'

/** What the walk knows of the namespaces at the other end of the node's veths (pods, a peer node). */
export interface PeerNetnsFacts {
  /** The namespaces asked, in the order asked. */
  names: string[]
  devices: Map<string, Device[]>
  routes: Map<string, Route[]>
}

/** @internal tested directly (a test seam) */
export const NEEDS_CAP_SYS_ADMIN = "reading pods' namespaces needs CAP_SYS_ADMIN: pod addresses not known"

/** `ip netns` names as iproute2 accepts them under /run/netns, never a path (as --netns: src/source/live.ts). */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/

/**
 * The namespaces the walk can use: those at the other end of a veth or netkit device of the inspected netns, named
 * through `ip netns list-id` (the nsid is as seen from the inspected netns, docs/kernel-notes.md#kn-2-veth-peer-fields). Nothing else: on a host
 * that is its pods; for `--netns node1` that node's pods and its peer node, never another tenant's namespaces. A
 * peer whose nsid has no name cannot be matched by the walk anyway (it looks pods up by that name).
 * @internal tested directly (a test seam)
 */
export function peerNetnsNames(devices: readonly Device[], netnsNames: ReadonlyMap<number, string>): string[] {
  const names = new Set<string>()
  for (const d of devices) {
    if ((d.kind !== 'veth' && d.kind !== 'netkit') || d.peer?.sameNetns !== false || d.peer.netnsId === undefined) continue
    const n = d.peer.netns ?? netnsNames.get(d.peer.netnsId)
    if (n !== undefined && NAME_RE.test(n)) names.add(n)
  }
  return [...names].sort()
}

/** Spawns at once in the fallback: a 500-pod node must not start 500 processes together. */
const FALLBACK_PARALLEL = 8

/**
 * Read the peer namespaces: the helper first (one process for all of them); a snapshot taken before it existed
 * keeps its `ip -all netns exec` output, which is read instead; without the helper, one `ip -n NAME` each.
 */
export async function collectPeerNetns(src: Source, devices: readonly Device[], netnsNames: ReadonlyMap<number, string>, warnings: Warning[]): Promise<PeerNetnsFacts> {
  const names = peerNetnsNames(devices, netnsNames)
  const facts: PeerNetnsFacts = {names, devices: new Map(), routes: new Map()}
  if (names.length === 0) return facts
  const out = await collectNetnsDump(src, names)
  if (!out.failure) {
    const d = take(NETNS_DUMP_PROBE, out, (o) => parseNetnsDump(o.stdout), {devices: new Map(), routes: new Map(), errors: []} as NetnsDumpFacts, warnings)
    warnings.push(...readErrorWarnings(NETNS_DUMP_PROBE, d.errors, d.stopped?.unread ?? 0))
    return {names, devices: d.devices, routes: d.routes}
  }
  if (out.failure === 'not-recorded') {
    const old = await fromAllNetnsExec(src, warnings)
    if (old) return {names, ...old}
  }
  // A helper built before `netns-dump` existed answers "unknown subcommand" (exit 2): as good as missing.
  const oldHelper = out.failure === 'exit' && /unknown subcommand/.test(out.stdout + out.stderr)
  if (out.failure !== 'missing-binary' && out.failure !== 'not-recorded' && !oldHelper) {
    warnings.push({probe: NETNS_DUMP_PROBE, kind: out.failure, message: `${out.message ?? `${NETNS_DUMP_PROBE}: failed`}: pod addresses not known`})
    return facts
  }
  return fallback(src, names, facts, warnings, out.failure === 'not-recorded')
}

/** Snapshots taken before the helper read namespaces hold `ip -all netns exec` output: replay reads it. */
async function fromAllNetnsExec(src: Source, warnings: Warning[]): Promise<Omit<PeerNetnsFacts, 'names'> | undefined> {
  const [addrs, routes] = await Promise.all([src.run({argv: IP_ALL_NETNS_ADDR_ARGV}), src.run({argv: IP_ALL_NETNS_ROUTE_ARGV})])
  if (addrs.failure === 'not-recorded') return undefined
  const probe = IP_ALL_NETNS_ADDR_ARGV.join(' ')
  const devices = take(probe, addrs, (o) => parseAllNetnsAddresses(o.stdout), new Map<string, Device[]>(), warnings)
  const r = routes.failure === 'not-recorded' ? new Map<string, Route[]>() : take(IP_ALL_NETNS_ROUTE_ARGV.join(' '), routes, (o) => parseAllNetnsRoutes(o.stdout), new Map<string, Route[]>(), warnings)
  return {devices, routes: r}
}

async function fallback(src: Source, names: string[], facts: PeerNetnsFacts, warnings: Warning[], replaying: boolean): Promise<PeerNetnsFacts> {
  const probe = 'ip -n NAME -j -batch -'
  const checkOut = await collectNetnsCheck(src, names)
  // Replaying a snapshot that has neither: it was taken with none of these probes (nothing to say).
  if (checkOut.failure === 'not-recorded') return facts
  const check = take('netns check (/run/netns)', checkOut, (o) => parseNetnsCheck(o.stdout), {live: names, notLive: []} as NetnsCheckFacts, warnings)
  if (check.capSysAdmin === false) {
    warnings.push({probe, kind: 'permission', message: `${NEEDS_CAP_SYS_ADMIN} (${names.length} namespace${names.length === 1 ? '' : 's'} not read)`})
    return facts
  }
  if (check.notLive.length) warnings.push(staleWarning(probe, check.notLive.map((x) => x.netns)))
  const live = check.live
  if (live.length === 0) return facts
  if (!replaying)
    warnings.push({
      probe,
      kind: 'missing-binary',
      message: `the nodeinspect-bpf helper is not built (npm run build needs gcc): read ${live.length} peer namespace${live.length === 1 ? '' : 's'} with one \`ip -n NAME\` each (${live.length} process${live.length === 1 ? '' : 'es'}; the helper reads them all in one)`,
    })
  const outs: RawOutput[] = []
  for (let i = 0; i < live.length; i += FALLBACK_PARALLEL) outs.push(...(await Promise.all(live.slice(i, i + FALLBACK_PARALLEL).map((n) => collectIpNetnsBatch(src, n)))))
  const failed: NetnsReadError[] = []
  outs.forEach((o, i) => {
    const name = live[i]!
    if (o.failure === 'not-recorded') return
    if (o.failure) return void failed.push({netns: name, kind: o.failure === 'permission' ? 'permission' : 'other', message: o.message ?? `${o.argv.join(' ')}: failed`})
    const r = take(`ip -n ${name} -j -batch -`, o, (x) => parseIpNetnsBatch(name, x.stdout), {devices: [] as Device[], routes: [] as Route[]}, warnings)
    facts.devices.set(name, r.devices)
    facts.routes.set(name, r.routes)
  })
  warnings.push(...readErrorWarnings(probe, failed, 0))
  return facts
}

function staleWarning(probe: string, names: string[]): Warning {
  return {probe, kind: 'exit', message: `stale /run/netns entr${names.length === 1 ? 'y' : 'ies'} skipped (the namespace is gone, only the name is left): ${shortList(names)}`}
}

const shortList = (names: string[]): string => (names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`)

/** One warning per kind of failure, not one per namespace: a 500-pod node without the capability says it once. */
function readErrorWarnings(probe: string, errors: NetnsReadError[], unread: number): Warning[] {
  const out: Warning[] = []
  const perm = errors.filter((e) => e.kind === 'permission')
  if (perm.length) out.push({probe, kind: 'permission', message: `${NEEDS_CAP_SYS_ADMIN} (${perm.length + unread} namespace${perm.length + unread === 1 ? '' : 's'} not read: ${perm[0]!.message})`})
  const stale = errors.filter((e) => e.kind === 'stale' || e.kind === 'missing')
  if (stale.length) out.push(staleWarning(probe, stale.map((e) => e.netns)))
  for (const e of errors.filter((x) => x.kind !== 'permission' && x.kind !== 'stale' && x.kind !== 'missing').slice(0, 5)) out.push({probe, kind: 'exit', message: `netns ${e.netns}: ${e.message}`})
  return out
}
