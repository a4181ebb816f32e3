import type {BpfProgram, Device, HookAttachment, TcFilter} from '../model/hooks.js'
import {BPF_HELPER_QUERY_ARGV, collectBpfHelperQuery, parseBpfHelperQuery, type BpfHelperFacts} from '../probes/bpf-helper.js'
import {collectBpftoolLink, parseBpftoolLinkJson, type BpfLink} from '../probes/bpftool-link.js'
import {collectBpftoolNet, parseBpftoolNetJson, type BpftoolNetFacts} from '../probes/bpftool-net.js'
import {collectBpftoolProg, parseBpftoolProgJson} from '../probes/bpftool-prog.js'
import {collectIpLinks, parseIpLinkJson} from '../probes/ip-link.js'
import {collectNetnsIds, parseIpNetnsListId} from '../probes/ip-netns.js'
import {collectNeighbours, collectRoutes, parseIpNeighJson, parseIpRouteJson, type Neighbour, type Route} from '../probes/ip-route.js'
import type {Warning} from '../probes/parsed.js'
import {buildTcFilterBatch, collectTcFilters, parseTcFilterBatch, type TcFilterFacts} from '../probes/tc-filter.js'
import type {RawOutput, Source, SourceMeta} from '../source/types.js'
import {take} from './take.js'

/** Everything `hooks` reads from a node, parsed. Built from a constant number of tool runs, whatever the device count. */
export interface HooksInputs {
  meta: SourceMeta
  devices: Device[]
  bpftoolNet: BpftoolNetFacts
  tc: TcFilterFacts
  helper: BpfHelperFacts & {available: boolean}
  programs: BpfProgram[]
  links: BpfLink[]
  netnsNames: Map<number, string>
  routes: Route[]
  neighbours: Neighbour[]
  warnings: Warning[]
}

/**
 * Phase 1 runs up to nine independent probes in parallel; phase 2 runs one `tc -batch` for every device found in phase 1.
 * Replaying a snapshot gives the same phase-2 input (it derives only from recorded phase-1 output).
 */
export interface HooksCollectOptions {
  /** Routes and neighbours name pods' IPs in `hooks`; `marks` does not need them (three runs fewer). */
  podIps?: boolean
}

const SKIPPED: RawOutput = {argv: [], stdout: '', stderr: '', exitCode: 0, durationMs: 0}

export async function collectHooksInputs(src: Source, opts: HooksCollectOptions = {}): Promise<HooksInputs> {
  const warnings: Warning[] = []
  const podIps = opts.podIps ?? true
  const [links, net, prog, helper, bpfLinks, nsids, r4, r6, neigh] = await Promise.all([
    collectIpLinks(src),
    collectBpftoolNet(src),
    collectBpftoolProg(src),
    collectBpfHelperQuery(src),
    collectBpftoolLink(src),
    collectNetnsIds(src),
    podIps ? collectRoutes(src, 'ipv4') : SKIPPED,
    podIps ? collectRoutes(src, 'ipv6') : SKIPPED,
    podIps ? collectNeighbours(src) : SKIPPED,
  ])
  const devices = take('ip -j -d addr show', links, (o) => parseIpLinkJson(o.stdout), [] as Device[], warnings)
  const bpftoolNet = take('bpftool -j net show', net, (o) => parseBpftoolNetJson(o.stdout), {attachments: [] as HookAttachment[], flowDissectorProgIds: [], netfilterProgs: 0}, warnings)
  const programs = take('bpftool -j prog show', prog, (o) => parseBpftoolProgJson(o.stdout), [] as BpfProgram[], warnings)
  const helperWarnings: Warning[] = []
  const helperFacts = take(BPF_HELPER_QUERY_ARGV.join(' '), helper, (o) => parseBpfHelperQuery(o.stdout), {attachments: []} as BpfHelperFacts, helperWarnings)
  const helperOk = !helper.failure
  if (helper.failure === 'missing-binary') {
    warnings.push({probe: 'nodeinspect-bpf query', kind: 'missing-binary', message: 'tcx/netkit attachments: the nodeinspect-bpf helper is not built (npm run build needs gcc); only a bpftool >= 7.3 would show them otherwise'})
  } else for (const w of helperWarnings) warnings.push(w)
  const bpfLinkFacts = take('bpftool -j link show', bpfLinks, (o) => parseBpftoolLinkJson(o.stdout), [] as BpfLink[], warnings)
  const netnsNames = take('ip -j netns list-id', nsids, (o) => parseIpNetnsListId(o.stdout), new Map<number, string>(), warnings)
  const routes = [
    ...take('ip -j -4 route show table all', r4, (o) => parseIpRouteJson(o.stdout, 'ipv4'), [] as Route[], warnings),
    ...take('ip -j -6 route show table all', r6, (o) => parseIpRouteJson(o.stdout, 'ipv6'), [] as Route[], warnings),
  ]
  const neighbours = take('ip -j neigh show', neigh, (o) => parseIpNeighJson(o.stdout), [] as Neighbour[], warnings)

  const names = devices.map((d) => d.name)
  const tcOut = await collectTcFilters(src, names)
  const {commands} = buildTcFilterBatch(names)
  const tc = take('tc -j -batch (filter show)', tcOut, (o) => parseTcFilterBatch(o.stdout, o.stderr, commands), {bpf: [] as HookAttachment[], other: [] as TcFilter[]}, warnings)

  return {meta: src.meta, devices, bpftoolNet, tc, helper: {...helperFacts, available: helperOk}, programs, links: bpfLinkFacts, netnsNames, routes, neighbours, warnings}
}
