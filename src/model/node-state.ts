import type {BpfHelperFacts, BpfLink, BpfProgram, BpftoolNetFacts, BridgePortVlans, Device, HookAttachment, TcFilterFacts} from './hooks.js'
import type {NftTable, XtRuleset} from './netfilter.js'
import type {SourceMeta} from './node-meta.js'
import type {ProgramSummary} from './program-summary.js'
import type {FdbEntry, IpRule, Neighbour, Route} from './routing.js'
import type {SsSocket} from './socket.js'
import type {RpFilter} from './rp-filter.js'
import type {Warning} from './warning.js'
import type {XfrmPolicy, XfrmState} from './xfrm.js'

/** Each datapath plugin's facts of a node, keyed by the plugin's name; only the plugin reads its own. */
export type DatapathFacts = Readonly<Record<string, unknown>>

/** One source a command reads, and why it could not be read (absent: it was read). */
export interface SourceRead {
  probe: string
  failure?: string
}

export interface HooksReadable {
  /** `ip`: the node's device list; `other-probes`: ip failed, the devices are the ones bpftool or the helper named; `none`: no device known. */
  deviceList: 'ip' | 'other-probes' | 'none'
  /** Why ip's device list could not be read, when it could not. */
  deviceListFailure?: string
  /** bpftool net, tc and the nodeinspect-bpf helper: each one's failure, if it failed. */
  attachmentSources: SourceRead[]
  /** `bpftool -j prog show`: without it no program can be named, nor its code read (marks, trace). */
  programList: SourceRead
}

/** Devices, attachments and programs of a node, as its probes gave them (before merging the attachment sources). */
export interface HooksFacts {
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

/** `net.bridge.bridge-nf-call-iptables` in the node's netns: on, off, or absent (br_netfilter not loaded, so off). */
export interface BrNetfilterFacts {
  callIptables: boolean
  /** False: /proc/sys/net/bridge is absent. */
  present: boolean
}

/** What a command needs read from a node: `hooks` ⊂ `marks`, `trace`; a snapshot holds what all of them read. */
export interface NodeStateNeeds {
  hooks?: boolean
  marks?: boolean
  trace?: boolean
}

/**
 * Everything nodeinspect knows of one node, built once (src/state/build.ts) from one declarative set of probes and
 * handed to every analysis: `hooks`, `marks` and `trace` read the same NodeState. Plain data: no Source, no I/O.
 * Fields a command did not ask for (NodeStateNeeds) are empty.
 */
export interface NodeState {
  /** How the node is named in a path: the netns it was read in, or its hostname. */
  label: string
  meta: SourceMeta
  hooks: HooksFacts
  /** Every hook attachment, the sources (bpftool net, tc, the helper) merged: one entry per program on a hook. */
  attachments: HookAttachment[]
  /** Each program's helpers, tail calls and mark reads and writes, from its code (absent: its code was not read). */
  code: Map<number, ProgramSummary>
  /** The kernel's offset of skb->mark (BTF); unknown: no program's mark use can be read. */
  markOffset?: number
  /**
   * iptables/ip6tables rulesets (nft and legacy backends). In full when `trace` is among the needs (it evaluates
   * them); for `marks` alone, only the rules that mention a mark are built, the others counted with their jumps
   * (XtChain.unbuilt), which is all the mark analysis reads.
   */
  xt: XtRuleset[]
  /** Native nft tables (iptables-nft's own are read through iptables-save). Absent: nft not installed or not recorded. */
  nft?: NftTable[]
  /**
   * Every nft table, iptables-nft's included (`ip nat`, `ip kube-proxy`), in the order they were made: how the
   * kernel orders base chains of equal priority (netfilter-eval.ts). Absent: nft not read.
   */
  nftTableOrder?: string[]
  ipRules: IpRule[]
  xfrmStates: XfrmState[]
  xfrmPolicies: XfrmPolicy[]
  sockets: SsSocket[]
  /** Forwarding entries: which VTEP a VXLAN sends each MAC to, which port of a bridge each MAC is behind. */
  fdb: FdbEntry[]
  /**
   * The VLANs of each bridge port and bridge device (`bridge vlan`), what a bridge with VLAN filtering admits and
   * sends (trace only, kn-23); absent: not read (an older snapshot, no `bridge` tool).
   */
  bridgeVlans?: BridgePortVlans[]
  /** br_netfilter's switch for iptables (trace only); absent: not read (an older snapshot, no sysctl). */
  brNetfilter?: BrNetfilterFacts
  /** ipset contents (`ipset save`); absent: -m set matches are unknown. */
  ipsets?: Map<string, {type: string; members: string[]}>
  /** `net.ipv4.conf.*.rp_filter` (trace --reply applies it, kn-22); absent: not read or not recorded. */
  rpFilter?: RpFilter
  /** Devices and addresses of the named namespaces at the other end of the node's veths (pods, a peer node). */
  netnsDevices: Map<string, Device[]>
  /** Routes of those namespaces: pods' own lookups, recomputed when replaying a snapshot. */
  netnsRoutes: Map<string, Route[]>
  /** What each datapath plugin (src/datapaths/registry.ts) read of its maps, keyed by plugin name. */
  datapaths: DatapathFacts
  /**
   * Each source of mark use and whether it was read: iptables/ip6tables (the legacy dumps only where their tools
   * exist), nft, ip rule, xfrm, ss, tc filters and the eBPF programs on hooks. All failed: `marks` has no answer.
   */
  markSourcesRead: SourceRead[]
  warnings: Warning[]
}

/**
 * A node state holding only its devices, attachments and programs, every other fact empty: what `hooks` reads
 * (state/build.ts), and the base a test builds a node on.
 */
export function hooksOnlyState(label: string, meta: SourceMeta, hooks: HooksFacts, attachments: HookAttachment[]): NodeState {
  return {
    label,
    meta,
    hooks,
    attachments,
    code: new Map(),
    xt: [],
    ipRules: [],
    xfrmStates: [],
    xfrmPolicies: [],
    sockets: [],
    fdb: [],
    netnsDevices: new Map(),
    netnsRoutes: new Map(),
    datapaths: {},
    markSourcesRead: [],
    warnings: [...hooks.warnings],
  }
}
