/** Facts about devices, hook attachments and BPF programs: plain JSON-serialisable data, no I/O. */

export type DeviceKind =
  | 'loopback'
  | 'physical'
  | 'veth'
  | 'vxlan'
  | 'geneve'
  | 'netkit'
  | 'bridge'
  | 'bond'
  | 'vlan'
  | 'macvlan'
  | 'ipvlan'
  | 'ifb'
  | 'dummy'
  | 'wireguard'
  | 'tun'
  | 'ipip'
  | 'gre'
  | 'other'

export interface VxlanInfo {
  vni?: number
  /** UDP destination port (8472 for Cilium and flannel, 4789 IANA/Calico). */
  port?: number
  local?: string
  remote?: string
  group?: string
  /** Lower device (vxlan's `info_data.link`). */
  dev?: string
  /** Collect-metadata mode: the tunnel key comes from eBPF (Cilium's cilium_vxlan). */
  external?: boolean
  /** The nsid of the netns its UDP socket and underlay live in, when not this one (`link_netnsid`): crossing it clears the mark. */
  underlayNetnsId?: number
  learning?: boolean
}

export interface DeviceAddress {
  family: 'inet' | 'inet6'
  local: string
  prefixlen: number
  scope?: string
}

/** The peer of a veth/netkit, as the kernel reports it from this side. */
export interface DevicePeer {
  ifindex?: number
  name?: string
  /** nsid as seen from this netns (absent: same netns). */
  netnsId?: number
  /** `ip netns` name of the peer's namespace, where nodeinspect could map the nsid. */
  netns?: string
  sameNetns: boolean
}

/** A Linux bridge's own settings (`ip -d link`, linkinfo info_data). */
export interface BridgeInfo {
  /** `vlan_filtering` 1: br_handle_frame_finish admits and forwards a frame by its VLAN (`bridge vlan`). */
  vlanFiltering?: boolean
  /** `nf_call_iptables` 1: br_netfilter runs iptables for this bridge's frames whatever the netns sysctl says (kn-16). */
  nfCallIptables?: boolean
}

/**
 * One VLAN (or range) of a bridge port or of the bridge device itself, as `bridge -j vlan show` lists it: the
 * port admits frames of it (br_allowed_ingress), sends them (br_allowed_egress), untagged when `untagged`.
 */
export interface BridgeVlan {
  vid: number
  /** Last VLAN of a range (`vlanEnd`); absent: one VLAN. */
  vidEnd?: number
  /** `PVID`: an untagged frame received on the port is given this VLAN. */
  pvid: boolean
  /** `Egress Untagged`: frames of this VLAN leave the port without a tag. */
  untagged: boolean
}

/** The VLANs of one bridge port or bridge device (`bridge -j vlan show`: `{"ifname":…,"vlans":[…]}`). */
export interface BridgePortVlans {
  dev: string
  vlans: BridgeVlan[]
}

/** A macvlan device's settings (`ip -d link`, linkinfo info_data) and where its lower device is. */
export interface MacvlanInfo {
  /** `bridge`, `private`, `vepa`, `passthru` or `source`: what macvlan_queue_xmit does with a frame for a sibling (kn-26). */
  mode?: string
  /** The lower device's ifindex (`link_index`), in the netns `lowerNetnsId` names when that is not this one. */
  lowerIfindex?: number
  /** The nsid (as seen from here) of the lower device's netns, when it is another one (`link_netnsid`). */
  lowerNetnsId?: number
}

/** A bridge port's settings (`ip -d link`, linkinfo info_slave_data). */
export interface BridgePortInfo {
  /** A frame may leave by the port it came in on only with hairpin mode on (should_deliver in br_forward.c). */
  hairpin?: boolean
  /** STP port state: only `forwarding` forwards. */
  state?: string
}

/** A device as `ip -j -d addr show` (or `ip -d link show` text) reports it. */
export interface Device {
  ifindex: number
  name: string
  kind: DeviceKind
  /** The kernel's kind string (`info_kind`), e.g. "veth", "vxlan"; absent for physical NICs. */
  kindRaw?: string
  slaveKind?: string
  mac?: string
  mtu?: number
  operstate?: string
  flags: string[]
  master?: string
  /** Lower device for vlan/macvlan/ipvlan (`link` when not a veth peer). */
  lower?: string
  altnames: string[]
  addresses: DeviceAddress[]
  vxlan?: VxlanInfo
  bridge?: BridgeInfo
  /** Set on a port of a bridge (`master` is the bridge). */
  bridgePort?: BridgePortInfo
  /** Set on a macvlan (or macvtap) device. */
  macvlan?: MacvlanInfo
  peer?: DevicePeer
  /** XDP as ip-link reports it (mode and program id; in `multi` mode no one id, but one per mode in `attached`). */
  xdp?: {mode: XdpMode; progId?: number; attached?: Array<{mode: XdpMode; progId: number}>}
}

export type XdpMode = 'driver' | 'generic' | 'offload' | 'multi' | 'unknown'

/** Where a program is attached. The kernel's own names kept beside ours. */
export type HookKind =
  | 'xdp'
  | 'tc-ingress'
  | 'tc-egress'
  | 'tcx-ingress'
  | 'tcx-egress'
  | 'netkit-primary'
  | 'netkit-peer'
  | 'flow-dissector'

export const HOOK_KERNEL_NAME: Record<HookKind, string> = {
  xdp: 'XDP (IFLA_XDP)',
  'tc-ingress': 'clsact ingress (cls_bpf, parent ffff:fff2)',
  'tc-egress': 'clsact egress (cls_bpf, parent ffff:fff3)',
  'tcx-ingress': 'BPF_TCX_INGRESS',
  'tcx-egress': 'BPF_TCX_EGRESS',
  'netkit-primary': 'BPF_NETKIT_PRIMARY',
  'netkit-peer': 'BPF_NETKIT_PEER',
  'flow-dissector': 'BPF_FLOW_DISSECTOR',
}

/** Which tool reported an attachment: the evidence for it. */
export type AttachmentWitness = 'bpftool-net' | 'tc-filter' | 'ip-link' | 'bpf-helper'

export interface TcFilterInfo {
  pref: number
  handle?: string
  chain?: number
  protocol?: string
  directAction?: boolean
  /** TCA_BPF_NAME: `object:[section]` for iproute2-loaded programs, a free name for others. */
  bpfName?: string
  notInHw?: boolean
  jited?: boolean
}

export interface TcxInfo {
  /** 1-based position in the kernel's run order for this device and direction. */
  position: number
  linkId?: number
  revision?: number
}

export interface HookAttachment {
  ifindex: number
  devname: string
  hook: HookKind
  progId: number
  /** The name the attaching tool gave (TCA_BPF_NAME, or the program name for tcx/xdp). */
  attachName?: string
  xdpMode?: XdpMode
  tc?: TcFilterInfo
  tcx?: TcxInfo
  witnesses: AttachmentWitness[]
}

export interface BpfProgram {
  id: number
  type: string
  name?: string
  tag?: string
  gplCompatible?: boolean
  /** ISO 8601, UTC. */
  loadedAt?: string
  uid?: number
  bytesXlated?: number
  bytesJited?: number
  bytesMemlock?: number
  mapIds: number[]
  btfId?: number
}

/** A non-BPF tc filter (fw, u32, flower, matchall…), kept for the marks analysis. */
export interface TcFilter {
  ifindex?: number
  devname: string
  direction: 'ingress' | 'egress'
  kind: string
  pref?: number
  handle?: string
  chain?: number
  protocol?: string
  options: Record<string, unknown>
}

export interface BpfLink {
  id: number
  /** bpftool's name ("tcx", "netkit", "xdp", …) or, when it has none, the kernel's BPF_LINK_TYPE number as a string. */
  type: string
  progId?: number
  ifindex?: number
}

export interface BpfHelperFacts {
  attachments: HookAttachment[]
  tcxSupported?: boolean
  netkitSupported?: boolean
  queried?: number
  /** The netns's flow-dissector program ids (BPF_PROG_QUERY on the netns); absent: not read (an older helper, or the query failed). */
  flowDissectorProgIds?: number[]
}

export interface BpftoolNetFacts {
  attachments: HookAttachment[]
  /** Program ids attached as flow dissectors (per netns, not per device). */
  flowDissectorProgIds: number[]
  /** Number of netfilter-hook BPF programs (BPF_PROG_TYPE_NETFILTER, kernel >= 6.4). */
  netfilterProgs: number
}

export interface TcFilterFacts {
  /** cls_bpf filters: the legacy (clsact) tc hook attachments. */
  bpf: HookAttachment[]
  /** Every other filter (fw, u32, flower, matchall, …), for the marks analysis. */
  other: TcFilter[]
}
