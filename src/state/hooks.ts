import type {Device, HookAttachment, TcFilter} from '../model/hooks.js'
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

/**
 * Phase 1 runs up to nine independent probes in parallel; phase 2 runs one `tc -batch` for every device found in phase 1.
 * Replaying a snapshot gives the same phase-2 input (it derives only from recorded phase-1 output).
 */
export interface HooksCollectOptions {
  /** Routes and neighbours name pods' IPs in `hooks`; `marks` does not need them (three runs fewer). */
  podIps?: boolean
}

export async function collectHooksFacts(src: Source, opts: HooksCollectOptions = {}): Promise<HooksFacts> {
  const podIps = opts.podIps ?? true
  const run = await runProbes(src, {
    links: ipLinksProbe,
    net: bpftoolNetProbe,
    prog: bpftoolProgProbe,
    helper: bpfHelperQueryProbe,
    bpfLinks: bpftoolLinkProbe,
    nsids: netnsIdsProbe,
    r4: podIps ? routesProbe('ipv4') : undefined,
    r6: podIps ? routesProbe('ipv6') : undefined,
    neigh: podIps ? neighboursProbe : undefined,
  })
  const {facts, outputs} = run
  // The helper's warnings are its own: a missing helper is one explained warning, not "not installed".
  const helperLabel = probeLabel(bpfHelperQueryProbe)
  const helperWarnings = run.warnings.filter((w) => w.probe === helperLabel)
  const helper = outputs.helper!
  const warnings: Warning[] = run.warnings.map((w) =>
    w.probe === helperLabel && helper.failure === 'missing-binary'
      ? {probe: 'nodeinspect-bpf query', kind: 'missing-binary', message: 'tcx/netkit attachments: the nodeinspect-bpf helper is not built (npm run build needs gcc); only a bpftool >= 7.3 would show them otherwise'}
      : w,
  )
  const linkLabel = probeLabel(ipLinksProbe)
  let devices = facts.links
  const linkWarnings = warnings.filter((w) => w.probe === linkLabel)
  // Every netns has lo: no device and a warning means the list was not read, not that there is none.
  const deviceListFailure = devices.length > 0 ? undefined : linkWarnings.map((w) => w.message).join('; ') || undefined
  const bpftoolNet = facts.net
  const programs = facts.prog
  const helperFacts = facts.helper
  const helperOk = !helper.failure
  const bpfLinkFacts = facts.bpfLinks
  const netnsNames = facts.nsids
  const routes = [...(facts.r4 ?? []), ...(facts.r6 ?? [])]
  const neighbours = facts.neigh ?? []
  const net = outputs.net!
  const prog = outputs.prog!

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
      {probe: probeLabel(bpftoolNetProbe), failure: failed(net, parsedOk(warnings, probeLabel(bpftoolNetProbe), net))},
      {probe: TC_PROBE, failure: tcOut ? failed(tcOut, parsedOk(warnings, TC_PROBE, tcOut)) : devices.length === 0 ? 'tc filter show: not run (no device to ask about)' : unsent.length > 0 ? 'tc filter show: not run (no device name could be sent)' : undefined},
      {probe: 'nodeinspect-bpf query', failure: failed(helper, parsedOk(helperWarnings, helperLabel, helper))},
    ].map(compactSource),
    programList: compactSource({probe: probeLabel(bpftoolProgProbe), failure: failed(prog, parsedOk(warnings, probeLabel(bpftoolProgProbe), prog))}),
  }
  if (deviceListFailure !== undefined) readable.deviceListFailure = deviceListFailure

  return {devices, bpftoolNet, tc, helper: {...helperFacts, available: helperOk}, programs, links: bpfLinkFacts, netnsNames, routes, neighbours, readable, warnings}
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
