import type {Device, HookAttachment, TcFilter, TcFilterFacts} from '../model/hooks.js'
import type {HooksFacts, HooksReadable} from '../model/node-state.js'
import type {Warning} from '../model/warning.js'
import {bpfHelperQueryProbe} from '../probes/bpf-helper.js'
import {bpftoolLinkProbe} from '../probes/bpftool-link.js'
import {bpftoolNetProbe} from '../probes/bpftool-net.js'
import {bpftoolProgProbe} from '../probes/bpftool-prog.js'
import {probeLabel} from '../probes/descriptor.js'
import {ipLinksProbe} from '../probes/ip-link.js'
import {netnsIdsProbe} from '../probes/ip-netns.js'
import {neighboursProbe, routesProbe} from '../probes/ip-route.js'
import {buildTcFilterBatch, collectTcFilters, parseTcFilterBatch} from '../probes/tc-filter.js'
import type {RawOutput, Source} from '../source/types.js'
import {runProbes, take} from './run-probes.js'

export interface HooksCollectOptions {
  /** Routes and neighbours name pods' IPs in `hooks`; `marks` does not need them (three runs fewer). */
  podIps?: boolean
}

/**
 * The probes run in parallel, and tc's batch of every device starts as soon as ip has listed them, not after the
 * slowest probe. `bpftool -j net show` is read only for what the others could not read (bpftoolNetNeeded): its
 * per-device netlink dumps made it the slowest probe by far (~0.7 s of kernel time at 1,000 devices, where the
 * rest take ~10 ms each; docs/kernel-notes.md#kn-5-bpftool-net-json), and everything it shows comes from them:
 * clsact filters from tc, XDP from ip (IFLA_XDP), tcx, netkit and the flow dissector from the nodeinspect-bpf
 * helper. Replaying a snapshot asks the same questions in the same order: bpftool net is read back from a snapshot
 * whose helper output lacks the flow dissector (taken before the helper read it), as it was read live then.
 */
export async function collectHooksFacts(src: Source, opts: HooksCollectOptions = {}): Promise<HooksFacts> {
  const podIps = opts.podIps ?? true
  const linksP = runProbes(src, {links: ipLinksProbe})
  const tcEarlyP = linksP.then((l) => (l.facts.links.length > 0 ? readTc(src, l.facts.links) : undefined))
  const run = await runProbes(src, {
    prog: bpftoolProgProbe,
    helper: bpfHelperQueryProbe,
    bpfLinks: bpftoolLinkProbe,
    nsids: netnsIdsProbe,
    r4: podIps ? routesProbe('ipv4') : undefined,
    r6: podIps ? routesProbe('ipv6') : undefined,
    neigh: podIps ? neighboursProbe : undefined,
  })
  const linkRun = await linksP
  const {facts, outputs} = run
  // The helper's warnings are its own: a missing helper is one explained warning, not "not installed".
  const helperLabel = probeLabel(bpfHelperQueryProbe)
  const helperWarnings = run.warnings.filter((w) => w.probe === helperLabel)
  const helper = outputs.helper!
  const restWarnings: Warning[] = run.warnings.map((w) =>
    w.probe === helperLabel && helper.failure === 'missing-binary'
      ? {probe: 'nodeinspect-bpf query', kind: 'missing-binary', message: 'tcx/netkit attachments: the nodeinspect-bpf helper is not built (npm run build needs gcc); only a bpftool >= 7.3 would show them otherwise'}
      : w,
  )
  const linkLabel = probeLabel(ipLinksProbe)
  let devices = linkRun.facts.links
  const linkWarnings = linkRun.warnings
  // Every netns has lo: no device and a warning means the list was not read, not that there is none.
  const deviceListFailure = devices.length > 0 ? undefined : linkWarnings.filter((w) => w.probe === linkLabel).map((w) => w.message).join('; ') || undefined
  const helperFacts = facts.helper
  const helperOk = parsedOk(helperWarnings, helperLabel, helper)
  const programs = facts.prog
  const bpfLinkFacts = facts.bpfLinks
  const netnsNames = facts.nsids
  const routes = [...(facts.r4 ?? []), ...(facts.r6 ?? [])]
  const neighbours = facts.neigh ?? []
  const prog = outputs.prog!

  let tcRead = await tcEarlyP
  const netWarnings: Warning[] = []
  let net: RawOutput | undefined
  let bpftoolNet = bpftoolNetProbe.empty
  if (bpftoolNetNeeded({deviceListRead: deviceListFailure === undefined, helperOk, helperFlowDissector: helperFacts.flowDissectorProgIds !== undefined, tcOk: tcRead?.ok ?? false, tcUnsent: tcRead?.unsent.length ?? 0})) {
    net = await src.run(bpftoolNetProbe.request)
    bpftoolNet = take(probeLabel(bpftoolNetProbe), net, (o) => bpftoolNetProbe.parse(o), bpftoolNetProbe.empty, netWarnings)
  }

  const warnings: Warning[] = [...linkWarnings, ...netWarnings, ...restWarnings]
  let deviceList: HooksReadable['deviceList'] = 'ip'
  if (deviceListFailure !== undefined) {
    devices = devicesNamedBy([...bpftoolNet.attachments, ...helperFacts.attachments])
    deviceList = devices.length > 0 ? 'other-probes' : 'none'
    if (devices.length > 0) {
      warnings.push({probe: IP_LINK_PROBE, kind: 'parse', message: `the device list could not be read: only the ${devices.length} device(s) that bpftool or the nodeinspect-bpf helper found programs on are shown; devices without programs, and XDP seen only by ip, are missing`})
      tcRead = await readTc(src, devices)
    }
  }
  const unsent = tcRead?.unsent ?? []
  if (unsent.length > 0)
    warnings.push({probe: TC_PROBE, kind: 'unsupported', message: `tc filters of ${unsent.map((n) => `"${n}"`).join(', ')} not read: a tc batch line cannot carry that name (it holds '#', or both quotes after a leading one); their clsact programs come from bpftool net only`})
  warnings.push(...(tcRead?.warnings ?? []))
  const tc = tcRead?.facts ?? {bpf: [] as HookAttachment[], other: [] as TcFilter[]}
  const tcOut = tcRead?.out

  const failed = (o: RawOutput, ok: boolean): string | undefined => (o.failure ? (o.message ?? `${o.argv.join(' ')}: failed`) : ok ? undefined : `${o.argv.join(' ')}: its output could not be read`)
  const readable: HooksReadable = {
    deviceList,
    attachmentSources: [
      ...(net ? [{probe: probeLabel(bpftoolNetProbe), failure: failed(net, parsedOk(netWarnings, probeLabel(bpftoolNetProbe), net))}] : []),
      {probe: TC_PROBE, failure: tcOut ? failed(tcOut, tcRead!.ok) : devices.length === 0 ? 'tc filter show: not run (no device to ask about)' : unsent.length > 0 ? 'tc filter show: not run (no device name could be sent)' : undefined},
      {probe: 'nodeinspect-bpf query', failure: failed(helper, helperOk)},
    ].map(compactSource),
    programList: compactSource({probe: probeLabel(bpftoolProgProbe), failure: failed(prog, parsedOk(warnings, probeLabel(bpftoolProgProbe), prog))}),
  }
  if (deviceListFailure !== undefined) readable.deviceListFailure = deviceListFailure

  return {devices, bpftoolNet, tc, helper: {...helperFacts, available: !helper.failure}, programs, links: bpfLinkFacts, netnsNames, routes, neighbours, readable, warnings}
}

/**
 * Whether `bpftool -j net show` must be read: only for what no other probe read. ip lists the devices (bpftool
 * names those with programs when it cannot) and their XDP; tc reads every device's clsact filters but for names
 * no batch line can carry; the helper reads tcx, netkit and the flow dissector (a helper older than its flow
 * dissector query, in a snapshot, did not).
 * @internal tested directly (a test seam)
 */
export function bpftoolNetNeeded(read: {deviceListRead: boolean; helperOk: boolean; helperFlowDissector: boolean; tcOk: boolean; tcUnsent: number}): boolean {
  return !read.deviceListRead || !read.helperOk || !read.helperFlowDissector || !read.tcOk || read.tcUnsent > 0
}

interface TcRead {
  /** Absent when no device name could be sent (nothing was run). */
  out?: RawOutput
  facts: TcFilterFacts
  warnings: Warning[]
  /** The devices whose name no tc batch line can carry. */
  unsent: string[]
  /** Whether tc answered for the devices asked about (false also when nothing could be asked). */
  ok: boolean
}

/** Every device's clsact filters: one `tc -batch` run. */
async function readTc(src: Source, devices: readonly Device[]): Promise<TcRead> {
  const names = devices.map((d) => d.name)
  const {commands} = buildTcFilterBatch(names)
  const sent = new Set(commands.map((c) => c.devname))
  const unsent = names.filter((n) => !sent.has(n))
  const out = await collectTcFilters(src, names)
  const warnings: Warning[] = []
  const facts = take(TC_PROBE, out, (o) => parseTcFilterBatch(o.stdout, o.stderr, commands), {bpf: [] as HookAttachment[], other: [] as TcFilter[]}, warnings)
  return {...(out ? {out} : {}), facts, warnings, unsent, ok: out !== undefined && parsedOk(warnings, TC_PROBE, out)}
}

const IP_LINK_PROBE = probeLabel(ipLinksProbe)
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
