import type {HooksReadable, NodeState} from '../model/node-state.js'
import {summariseFailures} from './readable.js'
import {deviceRole, type DeviceRole, type RoleContext} from '../knowledge/devices.js'
import {recogniseAttachment, splitObjectSection, type Recognition} from '../knowledge/programs.js'
import {HOOK_KERNEL_NAME, type AttachmentWitness, type BpfProgram, type Device, type DevicePeer, type HookAttachment, type HookKind, type TcFilterInfo, type TcxInfo, type VxlanInfo, type XdpMode} from '../model/hooks.js'
import type {Warning} from '../model/warning.js'
import {compact} from '../util/compact.js'

const HOOKS_SCHEMA = 'nodeinspect.hooks/v1'

/** `nodeinspect hooks --json`: see docs/json-hooks.md. Field names and meanings are stable within v1. */
export interface HooksReport {
  schema: typeof HOOKS_SCHEMA
  node: NodeIdentity
  /** The --dev pattern, when one was given. */
  devFilter?: string
  devices: DeviceHooks[]
  /** Flow-dissector programs are per netns, not per device. */
  flowDissector: Array<{progId: number; program?: ProgramInfo}>
  /**
   * How tcx/netkit attachments were seen, since Debian 12's bpftool cannot see them. BPF links are global, so
   * `unplacedTcxLinks` counts tcx/netkit links anywhere on the machine (other netns included) that no device here holds.
   */
  tcxVisibility: {helper: 'ok' | 'unavailable'; kernelHasTcx?: boolean; bpftoolShowsTcx: boolean; unplacedTcxLinks: number}
  summary: {devices: number; devicesWithPrograms: number; attachments: number; programs: number}
  /** Present when ip could not list the devices: the ones shown are only those other probes named, and why. */
  deviceListIncomplete?: string
  warnings: Warning[]
}

export interface NodeIdentity {
  hostname?: string
  kernel?: string
  netns?: string
  source: 'live' | 'snapshot'
  snapshotFile?: string
  takenAt?: string
  /** A note the snapshot's author left (e.g. what a hand-written reference snapshot lacks). */
  note?: string
}

interface PodIp {
  ip: string
  /** `route`: a host route `IP dev <this device>`; `neighbour`: an ARP/ND entry on this device. */
  evidence: 'route' | 'neighbour'
}

export interface DeviceHooks {
  ifindex: number
  name: string
  kind: Device['kind']
  kindRaw?: string
  role: DeviceRole
  roleBecause: string
  software?: string
  mac?: string
  mtu?: number
  operstate?: string
  master?: string
  addresses: string[]
  vxlan?: VxlanInfo
  peer?: DevicePeer & {podIps: PodIp[]}
  hooks: HookView[]
}

interface ProgramInfo {
  id: number
  type: string
  name?: string
  tag?: string
  loadedAt?: string
  mapIds: number[]
  btfId?: number
  bytesXlated?: number
  bytesJited?: number
}

export interface HookView {
  hook: HookKind
  kernelName: string
  direction: 'ingress' | 'egress' | 'peer'
  /** 1-based order in which the kernel runs the programs of this device and direction (XDP, then tcx, then clsact). */
  order: number
  progId: number
  /** `bpf_lxc.o:[from-container]`, a tcx program name, or the loader's free-form name. */
  attachName?: string
  object?: string
  section?: string
  xdpMode?: XdpMode
  tc?: TcFilterInfo
  tcx?: TcxInfo
  /** Absent when `bpftool prog show` did not list the program (race, or no privilege). */
  program?: ProgramInfo
  recognised?: Recognition
  /** Which tools reported this attachment: the evidence (all of them ask the kernel). */
  witnesses: AttachmentWitness[]
  /** Kernel facts about this position, e.g. a tcx program that can keep the clsact programs after it from running. */
  notes?: string[]
}

const DIRECTION: Record<HookKind, HookView['direction']> = {
  xdp: 'ingress',
  'tcx-ingress': 'ingress',
  'tc-ingress': 'ingress',
  'tcx-egress': 'egress',
  'tc-egress': 'egress',
  'netkit-primary': 'egress',
  'netkit-peer': 'peer',
  'flow-dissector': 'ingress',
}

/** Display and run order within a device: the receive path first (XDP before tcx before clsact), then transmit. */
const HOOK_RANK: Record<HookKind, number> = {xdp: 0, 'tcx-ingress': 1, 'tc-ingress': 2, 'tcx-egress': 3, 'tc-egress': 4, 'netkit-primary': 5, 'netkit-peer': 6, 'flow-dissector': 7}

/**
 * `*` any run of characters, `?` one, everything else itself. Matched with the greedy two-pointer walk, not a
 * RegExp: `.*` repeated backtracks exponentially (30 stars then a miss ran for minutes) and 20,000 of them
 * overflow V8's regexp compiler.
 * @internal tested directly (a test seam)
 */
export function globMatcher(pattern: string): (s: string) => boolean {
  return (s) => {
    let p = 0
    let i = 0
    let star = -1
    let mark = 0
    while (i < s.length) {
      if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === s[i]))) {
        p++
        i++
      } else if (p < pattern.length && pattern[p] === '*') {
        star = p++
        mark = i
      } else if (star !== -1) {
        p = star + 1
        i = ++mark
      } else return false
    }
    while (pattern[p] === '*') p++
    return p === pattern.length
  }
}

function programInfo(p: BpfProgram): ProgramInfo {
  return compact({id: p.id, type: p.type, name: p.name, tag: p.tag, loadedAt: p.loadedAt, mapIds: p.mapIds, btfId: p.btfId, bytesXlated: p.bytesXlated, bytesJited: p.bytesJited})
}

export interface AnalyseHooksOptions {
  dev?: string
}

export function analyseHooks(state: NodeState, opts: AnalyseHooksOptions = {}): HooksReport {
  const inputs = state.hooks
  const programs = new Map(inputs.programs.map((p) => [p.id, p]))
  const attachments = state.attachments
  const byDev = new Map<number, HookAttachment[]>()
  for (const a of attachments) byDev.set(a.ifindex, [...(byDev.get(a.ifindex) ?? []), a])

  const ctx: RoleContext = {defaultRouteDevs: new Set(), underlayDevs: new Set()}
  for (const r of inputs.routes) if (r.dst === 'default' && r.dev && r.type === 'unicast') ctx.defaultRouteDevs.add(r.dev)
  const localAddrDev = new Map<string, string>()
  for (const d of inputs.devices) for (const a of d.addresses) localAddrDev.set(a.local, d.name)
  for (const d of inputs.devices) {
    if (d.vxlan?.dev) ctx.underlayDevs.add(d.vxlan.dev)
    if (d.vxlan?.local && localAddrDev.has(d.vxlan.local)) ctx.underlayDevs.add(localAddrDev.get(d.vxlan.local)!)
  }

  const podIps = new Map<string, PodIp[]>()
  const addPodIp = (dev: string, ip: string, evidence: PodIp['evidence']): void => {
    const list = podIps.get(dev) ?? []
    if (!list.some((x) => x.ip === ip)) list.push({ip, evidence})
    podIps.set(dev, list)
  }
  for (const r of inputs.routes) {
    const host = /^([^/]+)(?:\/(32|128))?$/.exec(r.dst)
    if (host && r.dev && r.type === 'unicast' && !r.gateway && r.table !== 'local') addPodIp(r.dev, host[1]!, 'route')
  }
  for (const n of inputs.neighbours) if (!n.state.includes('FAILED') && !n.dst.startsWith('fe80:')) addPodIp(n.dev, n.dst, 'neighbour')

  const match = opts.dev ? globMatcher(opts.dev) : undefined
  const devices: DeviceHooks[] = []
  for (const d of [...inputs.devices].sort((a, b) => a.ifindex - b.ifindex)) {
    if (match && !match(d.name) && !d.altnames.some(match) && !match(String(d.ifindex))) continue
    const role = deviceRole(d, ctx)
    let peer: DeviceHooks['peer']
    if (d.peer) {
      peer = {...d.peer, podIps: []}
      if (peer.netnsId !== undefined && !peer.netns && inputs.netnsNames.has(peer.netnsId)) peer.netns = inputs.netnsNames.get(peer.netnsId)
      if (role.role === 'pod-endpoint' || role.role === 'health-endpoint') peer.podIps = podIps.get(d.name) ?? []
    }
    const view: DeviceHooks = compact({
      ifindex: d.ifindex,
      name: d.name,
      kind: d.kind,
      kindRaw: d.kindRaw,
      role: role.role,
      roleBecause: role.because,
      software: role.software,
      mac: d.mac,
      mtu: d.mtu,
      operstate: d.operstate,
      master: d.master,
      addresses: d.addresses.map((a) => `${a.local}/${a.prefixlen}`),
      vxlan: d.vxlan,
      peer,
      hooks: [] as HookView[],
    })
    const atts = (byDev.get(d.ifindex) ?? []).sort(
      (a, b) => HOOK_RANK[a.hook] - HOOK_RANK[b.hook] || (a.tcx?.position ?? 0) - (b.tcx?.position ?? 0) || (a.tc?.pref ?? 0) - (b.tc?.pref ?? 0) || (a.tc?.handle ?? '').localeCompare(b.tc?.handle ?? '') || a.progId - b.progId,
    )
    const orderByDir = new Map<string, number>()
    for (const a of atts) {
      const dir = DIRECTION[a.hook]
      const order = (orderByDir.get(dir) ?? 0) + 1
      orderByDir.set(dir, order)
      const p = programs.get(a.progId)
      const {object, section} = splitObjectSection(a.tc?.bpfName ?? a.attachName)
      const h: HookView = compact({
        hook: a.hook,
        kernelName: HOOK_KERNEL_NAME[a.hook],
        direction: dir,
        order,
        progId: a.progId,
        attachName: a.attachName,
        object,
        section,
        xdpMode: a.xdpMode,
        tc: a.tc,
        tcx: a.tcx,
        program: p ? programInfo(p) : undefined,
        recognised: recogniseAttachment(a, p),
        witnesses: [...a.witnesses].sort(),
      })
      view.hooks.push(h)
    }
    // tcx runs before clsact on the same device and direction; any verdict but TCX_NEXT ends the chain there
    // (kernel >= 6.6, sch_handle_ingress/egress), so the legacy programs after it may never see the packet.
    for (const dir of ['ingress', 'egress'] as const) {
      const legacy = view.hooks.filter((h) => h.hook === `tc-${dir}`)
      if (legacy.length === 0) continue
      for (const h of view.hooks.filter((x) => x.hook === `tcx-${dir}`)) {
        h.notes = [...(h.notes ?? []), `runs before the clsact ${dir} program${legacy.length > 1 ? 's' : ''} (${legacy.map((l) => `id ${l.progId}`).join(', ')}): if it returns anything but TCX_NEXT, they never see the packet`]
      }
    }
    devices.push(view)
  }

  const warnings = [...state.warnings]
  const bpftoolShowsTcx = inputs.bpftoolNet.attachments.some((a) => a.hook.startsWith('tcx') || a.hook.startsWith('netkit'))
  const placedLinks = new Set(attachments.flatMap((a) => (a.tcx?.linkId !== undefined ? [a.tcx.linkId] : [])))
  const unplacedTcxLinks = inputs.links.filter((l) => (l.type === 'tcx' || l.type === 'netkit') && !placedLinks.has(l.id)).length
  if (unplacedTcxLinks > 0 && !inputs.helper.available && !bpftoolShowsTcx)
    warnings.push({probe: 'bpftool -j link show', kind: 'unsupported', message: `${unplacedTcxLinks} tcx/netkit link(s) exist on this machine (in this or another netns) but cannot be placed on a device: build the nodeinspect-bpf helper or install bpftool >= 7.3`})

  const m = state.meta
  const node: NodeIdentity = compact({hostname: m.hostname, kernel: m.kernel, netns: m.netns, source: m.kind, snapshotFile: m.snapshotFile, takenAt: m.takenAt, note: m.note})
  const shownAttachments = devices.reduce((n, d) => n + d.hooks.length, 0)
  const report: HooksReport = {
    schema: HOOKS_SCHEMA,
    node,
    devices,
    // The helper's BPF_PROG_QUERY on the netns, or bpftool net's same query where bpftool net was read instead.
    flowDissector: [...new Set([...(inputs.helper.flowDissectorProgIds ?? []), ...inputs.bpftoolNet.flowDissectorProgIds])].map((id) => {
      const p = programs.get(id)
      return p ? {progId: id, program: programInfo(p)} : {progId: id}
    }),
    tcxVisibility: compact({helper: inputs.helper.available ? ('ok' as const) : ('unavailable' as const), kernelHasTcx: inputs.helper.tcxSupported, bpftoolShowsTcx, unplacedTcxLinks}),
    summary: {
      devices: devices.length,
      devicesWithPrograms: devices.filter((d) => d.hooks.length > 0).length,
      attachments: shownAttachments,
      programs: new Set(devices.flatMap((d) => d.hooks.map((h) => h.progId))).size,
    },
    warnings,
  }
  if (opts.dev !== undefined) report.devFilter = opts.dev
  if (inputs.readable.deviceList === 'other-probes') report.deviceListIncomplete = `ip could not list the devices (${inputs.readable.deviceListFailure ?? 'unknown reason'}); only devices that bpftool or the nodeinspect-bpf helper found programs on are shown`
  return report
}

/**
 * Why `hooks` has no answer to give, or undefined when it has one (possibly partial, with warnings). Total failure:
 * no device could be listed by any probe (ip failed, and neither bpftool nor the helper named one), or no source
 * of tc/tcx attachments (bpftool net, tc, the nodeinspect-bpf helper) could be read, so that "no program" on a
 * device would be a guess. Anything less is a partial answer: exit 0 with warnings.
 */
export function hooksUnreadable(r: HooksReadable): string | undefined {
  const failures = r.attachmentSources.flatMap((s) => (s.failure !== undefined ? [s.failure] : []))
  if (r.deviceList === 'none') return `no device list could be read: ${summariseFailures([r.deviceListFailure ?? 'ip gave no device', ...failures])}`
  if (failures.length === r.attachmentSources.length) return `no source of tc/tcx attachments could be read: ${summariseFailures(failures)}`
  return undefined
}
