import {summariseProgram} from '../bpf/interpreter.js'
import type {ProgramSummary} from '../bpf/program-summary.js'
import {mergeAttachments} from '../analyses/hooks.js'
import type {HookAttachment, Device} from '../model/hooks.js'
import type {NftTable, XtRuleset} from '../model/netfilter.js'
import {collectBpftoolXlated, parseBpftoolXlatedDumps} from '../probes/bpftool-xlated.js'
import {collectBridgeFdb, parseBridgeFdbJson} from '../probes/bridge-fdb.js'
import type {FdbEntry} from '../model/routing.js'
import type {DatapathFacts} from '../datapaths/plugin.js'
import {DATAPATHS, factsOf} from '../datapaths/registry.js'
import {collectDatapathFacts} from './datapath-facts.js'
import type {IpRule} from '../model/routing.js'
import {collectIpsets, parseIpsetSave} from '../probes/ipset.js'
import type {Route} from '../model/routing.js'
import {parseIptablesSave} from '../probes/iptables-save.js'
import {collectNftChains} from '../probes/nft-ruleset.js'
import {collectNativeNftTables} from './native-nft.js'
import {collectPeerNetns} from './peer-netns.js'
import type {Warning} from '../model/warning.js'
import {collectSkBuffLayout, parseSkBuffLayoutJson} from '../probes/sk-buff-layout.js'
import type {RawOutput, Source, SourceMeta} from '../source/types.js'
import {collectHooksInputs, type HooksInputs} from './hooks-inputs.js'
import {collectIpRulesBoth, collectXtDumps, parseIpRulesBoth, parseXtDumps} from './netfilter-dumps.js'
import {take} from './take.js'

/** Everything a path walk needs to know about one node. */
export interface NodeFacts {
  /** How the node is named in the path: its hostname, or the netns it was read in. */
  label: string
  meta: SourceMeta
  src: Source
  hooks: HooksInputs
  attachments: HookAttachment[]
  xt: XtRuleset[]
  nft: NftTable[]
  ipRules: IpRule[]
  /** What each datapath plugin read of its maps, keyed by plugin name. */
  datapaths: DatapathFacts
  /** Each program's helpers, tail calls and mark writes, from its instructions (absent: not dumped). */
  programs: Map<number, ProgramSummary>
  markOffset?: number
  /** Devices and addresses of the named namespaces at the other end of the node's veths (pods, a peer node). */
  netnsDevices: Map<string, Device[]>
  /** VXLAN forwarding entries (which VTEP each MAC goes to). */
  fdb: FdbEntry[]
  /** Routes of those namespaces: pods' own lookups, recomputed when replaying a snapshot. */
  netnsRoutes: Map<string, Route[]>
  /** ipset contents (`ipset save`); absent: -m set matches are unknown. */
  ipsets?: Map<string, {type: string; members: string[]}>
  warnings: Warning[]
}

/** Program types whose code is read: tc programs (mark and redirects) and XDP (redirects only). */
const CODE_TYPES = new Set(['sched_cls', 'sched_act', 'xdp'])

/** Read one node for `trace`: hooks, every rule (in full, to evaluate them), routing, the datapath plugins' maps, program code. */
export async function collectNodeFacts(src: Source): Promise<NodeFacts> {
  const warnings: Warning[] = []
  // The peer namespaces are known once the links and nsids are: read them while the other probes still run.
  const hooksP = collectHooksInputs(src)
  const peerWarnings: Warning[] = []
  const peersP = hooksP.then((h) => collectPeerNetns(src, h.devices, h.netnsNames, peerWarnings))
  const [hooks, peers, xtOuts, chainsOut, rules, skb, fdbOut, ipsetOut] = await Promise.all([
    hooksP,
    peersP,
    collectXtDumps(src),
    collectNftChains(src),
    collectIpRulesBoth(src),
    collectSkBuffLayout(src),
    collectBridgeFdb(src),
    collectIpsets(src),
  ])
  const xt = parseXtDumps(xtOuts, warnings, parseIptablesSave)
  const nft = (await collectNativeNftTables(src, chainsOut, xt, warnings)) ?? []
  const ipRules = parseIpRulesBoth(rules, warnings)
  const markOffset = take('sk_buff layout (BTF)', skb, (o) => parseSkBuffLayoutJson(o.stdout), {} as {mark?: number}, warnings).mark
  const fdb = fdbOut.failure === 'not-recorded' ? [] : take('bridge -j fdb show', fdbOut, (o) => parseBridgeFdbJson(o.stdout), [] as FdbEntry[], warnings)
  // Only the namespaces the node's own veths lead to, named by `ip netns list-id`: one helper process for all.
  const {devices: netnsDevices, routes: netnsRoutes} = peers
  warnings.push(...peerWarnings)
  // ipset missing or not recorded: matches on sets stay unknown (the evaluator says so).
  const ipsets = ipsetOut.failure ? undefined : take('ipset save', ipsetOut, (o) => parseIpsetSave(o.stdout), undefined as Map<string, {type: string; members: string[]}> | undefined, warnings)
  const attachments = mergeAttachments(hooks)
  const attachedIds = [...new Set(attachments.map((a) => a.progId))]
  const datapaths = await collectDatapathFacts(src, {programs: hooks.programs, attachedProgIds: attachedIds})
  for (const w of datapaths.warnings) warnings.push(w)

  // Program code: what is attached, plus the tail-call targets the plugins' maps hold (Cilium's policy array).
  const byId = new Map(hooks.programs.map((p) => [p.id, p]))
  const wanted = new Set<number>(attachedIds.filter((id) => !byId.get(id) || CODE_TYPES.has(byId.get(id)!.type)))
  for (const plugin of DATAPATHS) for (const id of plugin.extraProgramIds(factsOf(plugin, datapaths.facts))) wanted.add(id)
  const programs = new Map<number, ProgramSummary>()
  if (wanted.size > 0 && markOffset !== undefined) {
    const raws = await collectBpftoolXlated(src, [...wanted].map((id) => ({id, ...(byId.get(id)?.name ? {name: byId.get(id)!.name!} : {})})))
    const dumps = parseBpftoolXlatedDumps(raws)
    for (const w of dumps.warnings) if (w.kind !== 'not-recorded') warnings.push(w)
    for (const d of dumps.programs) programs.set(d.id, summariseProgram(d.insns, {markOffset}))
  }
  const label = src.meta.netns ?? src.meta.hostname ?? 'node'
  return {label, meta: src.meta, src, hooks, attachments, xt, nft, ipRules, datapaths: datapaths.facts, programs, ...(markOffset !== undefined ? {markOffset} : {}), netnsDevices, fdb, netnsRoutes, ...(ipsets ? {ipsets} : {}), warnings: [...hooks.warnings, ...warnings]}
}
