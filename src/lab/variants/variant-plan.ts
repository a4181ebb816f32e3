/**
 * What `lab up --variant NAME` makes for a CNI variant (issue 9's proof): a real two-node setup in the lab's
 * namespaces, as pure data. Every variant file builds one of these; variants/up.ts carries it out phase by phase
 * and variants/verify.ts reads it back. No tool runs here.
 */
import type {LabPlanCommand, LabListenerSpec} from '../plan.js'
import type {NodeName} from '../topology.js'

/** A node of a variant: its netns, underlay address, pod CIDR and overlay device. */
export interface VariantNode {
  name: NodeName
  netns: string
  underlayIp: string
  podCidr: string
  overlay: {dev: string; vni: number; port: number; address: string; mac: string}
}

/** A pod: its netns, address, gateway and the host end of its veth. */
export interface VariantPod {
  name: string
  netns: string
  node: NodeName
  ip: string
  gateway: string
  /** The veth's host end in the node netns (`vethXXXXXXXX` on a bridge, `caliXXXXXXXXXXX` routed). */
  hostDev: string
  listener?: {port: number}
}

/** A namespace outside the cluster behind a node's second uplink (the policy-routing variant's). */
export interface VariantOutside {
  name: 'ext'
  netns: string
  node: NodeName
  /** The link: node end (name, address) and this end's address, on one /24. */
  nodeDev: {name: string; ip: string}
  ip: string
  /** The address its listener binds (on its lo, reachable only through the node's policy route). */
  listenIp: string
  listener: {port: number}
}

/** A ClusterIP Service (the nft kube-proxy variant's). */
export interface VariantService {
  name: string
  clusterIp: string
  port: number
  protocol: 'tcp' | 'udp'
  endpoints: Array<{pod: string; ip: string; port: number}>
}

/** One flow the variant carries and what a real probe must find. */
export interface VariantFlow {
  kind: string
  description: string
  fromPod: string
  dst: string
  dport: number
  proto: 'tcp' | 'udp'
  expect: {
    connected: boolean
    /** Listeners (pod names, or 'ext') one of which must log the probe. */
    listeners?: string[]
    /** The peer address that listener saw (after masquerade or SNAT where the variant has them). */
    peer?: string
    /** Not connected because a REJECT answered (ECONNREFUSED), not because the packet vanished (a timeout). */
    refused?: boolean
    /** Not connected although the forward packet arrives: its answer never makes it back (times out). */
    replyNeverComesBack?: boolean
  }
}

/** A device `lab up` makes, as `ip -d link` must show it. */
export interface ExpectedDevice {
  netns: string
  name: string
  kind: 'veth' | 'bridge' | 'vxlan'
  /** The bridge it is a port of. */
  master?: string
  addresses: string[]
  vxlan?: {id: number; port: number}
  mac?: string
}

/** A route `ip -j route show table all` must list (table: main unless given). */
export interface ExpectedRoute {
  netns: string
  dst: string
  dev: string
  table?: number
}

export interface ExpectedSysctl {
  netns: string
  key: string
  value: string
  /** The key may be missing (e.g. net.bridge.* without br_netfilter: then it is off). */
  absentOk?: boolean
}

/** An iptables rule `lab up` writes with iptables-restore --noflush (appended: its position is its order). */
export interface VariantXtRule {
  node: NodeName
  /** Whose rule this stands for (the software that writes this shape). */
  owner: string
  table: 'raw' | 'mangle' | 'nat' | 'filter'
  chain: string
  rule: string
  purpose: string
}

/** A native nftables table, written with `nft -f -`. */
export interface VariantNftTable {
  node: NodeName
  family: 'ip'
  name: string
  /** Chains `nft list table` must show. */
  chains: string[]
  /** The `nft -f` input. */
  text: string
}

/** An `ip rule` (or the route of its table) in a node, one `ip -batch` line. */
export interface VariantIpCommand {
  node: NodeName
  owner: string
  command: string
  /** ip rules: the preference `ip -j rule` must show. */
  pref?: number
}

export interface LabVariantPlan {
  variant: string
  summary: string
  prefix: string
  stateDir: string
  statePath: string
  namespaces: string[]
  nodes: VariantNode[]
  pods: VariantPod[]
  outside?: VariantOutside
  services: VariantService[]
  /** Carried out in order; the commands of one phase run together. */
  phases: Array<{step: string; commands: LabPlanCommand[]}>
  listeners: LabListenerSpec[]
  iptables: VariantXtRule[]
  nft: VariantNftTable[]
  ip: VariantIpCommand[]
  expect: {devices: ExpectedDevice[]; routes: ExpectedRoute[]; sysctls: ExpectedSysctl[]}
  flows: VariantFlow[]
}

/** A variant as the registry lists it. */
export interface LabVariantDef {
  name: string
  summary: string
  /** Why it cannot be built on this machine (checked before anything is made), or undefined. */
  unavailable?: () => string | undefined
  plan: (prefix: string) => LabVariantPlan
}
