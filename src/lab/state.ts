/** The lab's state file, /run/nodeinspect-lab/<prefix>/state.json: the ground truth of what `lab up` made. */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import type {LabCiliumMapName, LabCiliumNode} from './cilium-maps.js'
import type {LabIpCommand, LabRuleOwner, LabVariant, LabXtRule} from './netfilter.js'
import type {LabVariantState} from './variants/state.js'
import type {AttachmentKind, ExpectedAttachment, ExpectedTailCall, FlowHook, LabExternal, LabFlow, LabNode, LabPod, LabService, LabTopology, NodeName} from './topology.js'

/** 2: variant, ext, services, flows, netfilter, collide, processes[].peerLog. */
export const LAB_STATE_VERSION = 2

/** A device as read back with `ip -j -d link show` inside its netns after `lab up`. */
export interface LabDeviceState {
  netns: string
  /** The node the netns belongs to, or absent for a pod netns. */
  node?: NodeName
  pod?: string
  name: string
  ifindex: number
  mac: string
  kind: string
  mtu: number
  addresses: string[]
  /** veth: ifindex of the other end (in peerNetns when that is another netns). */
  peerIfindex?: number
  peerNetns?: string
}

/** An attachment the lab made, with the ids the kernel gave it (read back, not assumed). */
export interface LabAttachmentState extends ExpectedAttachment {
  progId: number
  /** The program name as tc/ip (kernel name, at most 15 characters) or bpftool (full name from BTF) report it. */
  progName: string
  tag?: string
  /** tcx only. */
  linkId?: number
  linkPin?: string
  progPin?: string
}

export interface LabTailCallState extends ExpectedTailCall {
  progId: number
  progName: string
  progPin: string
}

/** A Cilium map `lab up` created, as the kernel shows it (read back with bpftool, the entries checked byte for byte). */
export interface LabCiliumMapState {
  node: NodeName
  name: LabCiliumMapName
  pin: string
  /** The kernel's map id (maps are global: each node has its own map of each name). */
  id: number
  type: 'lpm_trie' | 'hash' | 'prog_array'
  keySize: number
  valueSize: number
  maxEntries: number
  flags: number
  /** Entries read back (for cilium_call_policy: the filled slots). */
  entries: number
}

export interface LabProcessState {
  name: string
  /** The pod it runs in, or 'ext' for the external namespace's listener. */
  pod: string
  netns: string
  pid: number
  listen: string
  pidFile: string
  /** One JSON line per TCP connection / UDP datagram: {"proto","peer","local","at"}. */
  peerLog: string
}

/** A rule `lab up` wrote, with the line `iptables-save` printed back for it (iptables normalises: see below). */
export interface LabXtRuleState extends LabXtRule {
  /**
   * As iptables-save (1.8.9, nft backend) prints it: `--or-mark 0x4000` comes back as `--set-xmark 0x4000/0x4000`,
   * `--xor-mark 0x4000` as `--set-xmark 0x4000/0x0`, `--set-mark 0x1337` as `--set-xmark 0x1337/0xffffffff`.
   */
  saved: string
}

/** What `lab up --collide` added on top of the base lab (ground truth for the marks tests). */
export interface LabCollideState {
  node: NodeName
  /** Owners whose rules the variant added (kube-proxy's are in the base lab already). */
  owners: LabRuleOwner[]
  /** The eBPF program built with -DNI_MARK_OR: it ORs `value` into skb->mark on every packet it sees. */
  markOr: {
    value: number
    hex: string
    define: string
    node: NodeName
    object: string
    devname: string
    ifindex: number
    kind: AttachmentKind
    hook: FlowHook
    progId: number
    progName: string
    /** The hook as `nodeinspect marks` names it in where.hooks. */
    marksHook: string
  }
}

export interface LabState {
  version: typeof LAB_STATE_VERSION
  prefix: string
  createdAt: string
  /** Wall time of `lab up`. */
  upMs: number
  stateDir: string
  statePath: string
  bpffs: string
  flowMapPin: string
  helper: string
  namespaces: string[]
  nodes: Array<Omit<LabNode, 'devices'> & {devices: string[]}>
  pods: LabPod[]
  devices: LabDeviceState[]
  attachments: LabAttachmentState[]
  /** to-container programs, each in its node's cilium_call_policy at its endpoint id. */
  tailCalls: LabTailCallState[]
  ciliumMaps: LabCiliumMapState[]
  /** What each node's cilium_ipcache, cilium_lxc and cilium_tunnel_map hold, as written. */
  cilium: Array<Omit<LabCiliumNode, 'maps'>>
  processes: LabProcessState[]
  objects: Array<{node: NodeName; object: string; source: string; defines: string[]; path: string}>
  /** base, or collide (`lab up --collide`: see collide). */
  variant: LabVariant
  /** The external namespace (masquerade target) and its link to node 1. */
  ext: LabExternal
  /** ClusterIP Services implemented by the lab's kube-proxy rules. */
  services: LabService[]
  /** The flows the lab carries and what a probe must find for each. */
  flows: LabFlow[]
  /** iptables rules (as written and as saved back), ip rules and routes, per node. */
  netfilter: {rules: LabXtRuleState[]; ip: LabIpCommand[]}
  collide?: LabCollideState
}

/** The state of a lab of any variant: the Cilium lab's (variant base or collide) or a CNI variant's. */
export type AnyLabState = LabState | LabVariantState

export function isVariantState(s: AnyLabState): s is LabVariantState {
  return s.variant !== 'base' && s.variant !== 'collide'
}

/** The state file of the lab with this topology's prefix, whatever its variant. */
export function readAnyLabState(topo: Pick<LabTopology, 'statePath' | 'prefix'>): AnyLabState | undefined {
  let text: string
  try {
    text = readFileSync(topo.statePath, 'utf8')
  } catch {
    return undefined
  }
  try {
    const s = JSON.parse(text) as AnyLabState
    return s && s.version === LAB_STATE_VERSION && s.prefix === topo.prefix ? s : undefined
  } catch {
    return undefined
  }
}

/**
 * The Cilium lab's state (undefined when the lab up is a CNI variant).
 * @internal tested directly (a test seam)
 */
export function readLabState(topo: LabTopology): LabState | undefined {
  const s = readAnyLabState(topo)
  return s && !isVariantState(s) ? s : undefined
}

export function writeLabState(state: AnyLabState): void {
  const tmp = `${state.statePath}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(tmp, state.statePath)
}
