import type {BpfProgram, Device, HookAttachment, TcFilter} from '../model/hooks.js'
import {BPF_HELPER_QUERY_ARGV, collectBpfHelperQuery, parseBpfHelperQuery, type BpfHelperFacts} from '../probes/bpf-helper.js'
import {collectBpftoolLink, parseBpftoolLinkJson} from '../probes/bpftool-link.js'
import type {BpfLink} from '../model/hooks.js'
import {collectBpftoolNet, parseBpftoolNetJson, type BpftoolNetFacts} from '../probes/bpftool-net.js'
import {collectBpftoolProg, parseBpftoolProgJson} from '../probes/bpftool-prog.js'
import {collectIpLinks, parseIpLinkJson} from '../probes/ip-link.js'
import {collectNetnsIds, parseIpNetnsListId} from '../probes/ip-netns.js'
import {collectNeighbours, collectRoutes, parseIpNeighJson, parseIpRouteJson} from '../probes/ip-route.js'
import type {Neighbour, Route} from '../model/routing.js'
import type {Warning} from '../model/warning.js'
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
  /**
   * Whether anything could be read at all: `ip` for the device list (or, when it failed, the devices other probes
   * named), and each source of tc/tcx/netkit attachments. analyses/hooks.ts `hooksUnreadable` turns "nothing"
   * into a failure instead of an answer of "0 devices".
   */
  readable: HooksReadable
  warnings: Warning[]
}

export interface HooksReadable {
  /** `ip`: the node's device list; `other-probes`: ip failed, the devices are the ones bpftool or the helper named; `none`: no device known. */
  deviceList: 'ip' | 'other-probes' | 'none'
  /** Why ip's device list could not be read, when it could not. */
  deviceListFailure?: string
  /** bpftool net, tc and the nodeinspect-bpf helper: each one's failure, if it failed. */
  attachmentSources: Array<{probe: string; failure?: string}>
  /** `bpftool -j prog show`: without it no program can be named, nor its code read (marks, trace). */
  programList: {probe: string; failure?: string}
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
  const linkWarnings: Warning[] = []
  let devices = take(IP_LINK_PROBE, links, (o) => parseIpLinkJson(o.stdout), [] as Device[], linkWarnings)
  warnings.push(...linkWarnings)
  // Every netns has lo: no device and a warning means the list was not read, not that there is none.
  const deviceListFailure = devices.length > 0 ? undefined : linkWarnings.map((w) => w.message).join('; ') || undefined
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

  let deviceList: HooksReadable['deviceList'] = 'ip'
  if (deviceListFailure !== undefined) {
    devices = devicesNamedBy([...bpftoolNet.attachments, ...helperFacts.attachments])
    deviceList = devices.length > 0 ? 'other-probes' : 'none'
    if (devices.length > 0)
      warnings.push({probe: IP_LINK_PROBE, kind: 'parse', message: `the device list could not be read: only the ${devices.length} device(s) that bpftool or the nodeinspect-bpf helper found programs on are shown; devices without programs, and XDP seen only by ip, are missing`})
  }

  const names = devices.map((d) => d.name)
  const tcOut = await collectTcFilters(src, names)
  const {commands} = buildTcFilterBatch(names)
  const unsent = names.filter((n) => !commands.some((c) => c.devname === n))
  if (unsent.length > 0)
    warnings.push({probe: TC_PROBE, kind: 'unsupported', message: `tc filters of ${unsent.map((n) => `"${n}"`).join(', ')} not read: a tc batch line cannot carry that name (it holds '#', or both quotes after a leading one); their clsact programs come from bpftool net only`})
  const tc = take(TC_PROBE, tcOut, (o) => parseTcFilterBatch(o.stdout, o.stderr, commands), {bpf: [] as HookAttachment[], other: [] as TcFilter[]}, warnings)

  const failed = (o: RawOutput, ok: boolean): string | undefined => (o.failure ? (o.message ?? `${o.argv.join(' ')}: failed`) : ok ? undefined : `${o.argv.join(' ')}: its output could not be read`)
  const readable: HooksReadable = {
    deviceList,
    attachmentSources: [
      {probe: 'bpftool -j net show', failure: failed(net, parsedOk(warnings, 'bpftool -j net show', net))},
      {probe: TC_PROBE, failure: tcOut ? failed(tcOut, parsedOk(warnings, TC_PROBE, tcOut)) : devices.length === 0 ? 'tc filter show: not run (no device to ask about)' : unsent.length > 0 ? 'tc filter show: not run (no device name could be sent)' : undefined},
      {probe: 'nodeinspect-bpf query', failure: failed(helper, parsedOk(helperWarnings, 'nodeinspect-bpf query', helper))},
    ].map(compactSource),
    programList: compactSource({probe: 'bpftool -j prog show', failure: failed(prog, parsedOk(warnings, 'bpftool -j prog show', prog))}),
  }
  if (deviceListFailure !== undefined) readable.deviceListFailure = deviceListFailure

  return {meta: src.meta, devices, bpftoolNet, tc, helper: {...helperFacts, available: helperOk}, programs, links: bpfLinkFacts, netnsNames, routes, neighbours, readable, warnings}
}

const IP_LINK_PROBE = 'ip -j -d addr show'
export const TC_PROBE = 'tc -j -batch (filter show)'

/** A probe that ran but whose whole output was unreadable (not JSON, empty) read nothing. */
function parsedOk(warnings: readonly Warning[], probe: string, out: RawOutput): boolean {
  if (out.failure) return false
  return !warnings.some((w) => w.probe === probe && w.kind === 'parse' && /not valid JSON|empty output|expected a list|cannot tell which device|unknown helper output|helper error|bpftool error/.test(w.message))
}

function compactSource(x: {probe: string; failure?: string}): {probe: string; failure?: string} {
  return x.failure === undefined ? {probe: x.probe} : x
}

/** When ip cannot list the devices: the ones other probes named, with what they said of them (name and ifindex). */
function devicesNamedBy(atts: readonly HookAttachment[]): Device[] {
  const byIndex = new Map<number, Device>()
  for (const a of atts) {
    if (!a.ifindex || byIndex.has(a.ifindex)) continue
    byIndex.set(a.ifindex, {ifindex: a.ifindex, name: a.devname, kind: 'other', flags: [], altnames: [], addresses: []})
  }
  return [...byIndex.values()]
}
