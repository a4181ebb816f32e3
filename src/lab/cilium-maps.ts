/**
 * The lab's Cilium maps: what each node's cilium_ipcache, cilium_lxc, cilium_tunnel_map and
 * cilium_call_policy hold (cilium-map-bytes.ts encodes them). Pure data; plan.ts puts them in the plan that
 * up.ts carries out.
 *
 * The contents follow what Cilium itself would hold on such a node, with the scenario's values where
 * docs/scenario.md#cilium-maps gives them (httpbin is identity 15773 and endpoint 2826; node 1's ipcache sends it to
 * 192.168.1.13) and the lab's own stable choices elsewhere.
 */
import type {LabNode, LabPod, NodeName} from './topology.js'

export const CILIUM_IPCACHE = 'cilium_ipcache'
export const CILIUM_LXC = 'cilium_lxc'
export const CILIUM_TUNNEL_MAP = 'cilium_tunnel_map'
export const CILIUM_CALL_POLICY = 'cilium_call_policy'
export type LabCiliumMapName = typeof CILIUM_IPCACHE | typeof CILIUM_LXC | typeof CILIUM_TUNNEL_MAP | typeof CILIUM_CALL_POLICY

/** Cilium's reserved security identities. */
const IDENTITY = {host: 1, world: 2, health: 4, remoteNode: 6} as const

/** BPF_F_NO_PREALLOC: Cilium's default (CONDITIONAL_PREALLOC) and required for LPM tries. */
const NO_PREALLOC = 1

/** A map `lab up` creates with bpftool (no BTF), pinned where the node's tc/ip loads look for it. */
interface LabCiliumMapSpec {
  node: NodeName
  name: LabCiliumMapName
  type: 'lpm_trie' | 'hash' | 'prog_array'
  keySize: number
  valueSize: number
  maxEntries: number
  flags: number
  /** <lab bpffs>/<node>/tc/globals/<name>: TC_BPF_MNT=<lab bpffs>/<node> makes libbpf reuse it. */
  pin: string
}

/** One row of `cilium map get cilium_ipcache` as the lab writes it. */
export interface LabIpcacheEntry {
  prefix: string
  identity: number
  /** '0.0.0.0' when the address is local (no tunnel). */
  tunnelEndpoint: string
  encryptKey: number
  /** What the entry stands for, e.g. 'pod httpbin (node2)'. */
  what: string
}

/** One row of `cilium map get cilium_lxc`. */
export interface LabEndpointEntry {
  ip: string
  endpointId: number
  ifindex: number
  mac: string
  nodeMac: string
  /** 1 (ENDPOINT_F_HOST) for the node's own addresses, whose other fields are 0. */
  flags: number
  pod?: string
}

/** One row of the 1.12 tunnel map: a remote pod CIDR (base address) -> the node hosting it. */
interface LabTunnelEntry {
  ip: string
  tunnelEndpoint: string
  encryptKey: number
}

export interface LabCiliumNode {
  node: NodeName
  maps: LabCiliumMapSpec[]
  ipcache: LabIpcacheEntry[]
  endpoints: LabEndpointEntry[]
  tunnels: LabTunnelEntry[]
}

/** Where a node's tc/ip loads find their pinned maps: TC_BPF_MNT, with tc/globals below it. */
export function nodeBpfMnt(bpffs: string, node: NodeName): string {
  return `${bpffs}/${node}`
}

function ciliumMapPin(bpffs: string, node: NodeName, name: LabCiliumMapName): string {
  return `${nodeBpfMnt(bpffs, node)}/tc/globals/${name}`
}

/** The maps and their contents for one node; `other` is the other node of the lab. */
export function labCiliumNode(bpffs: string, node: LabNode, other: LabNode, pods: readonly LabPod[]): LabCiliumNode {
  const spec = (name: LabCiliumMapName, type: LabCiliumMapSpec['type'], keySize: number, valueSize: number, maxEntries: number, flags: number): LabCiliumMapSpec => ({
    node: node.name,
    name,
    type,
    keySize,
    valueSize,
    maxEntries,
    flags,
    pin: ciliumMapPin(bpffs, node.name, name),
  })
  // Sizes and limits of Cilium 1.12 (lab/bpf/cilium_maps.h must declare the same, or libbpf refuses the pins).
  const maps = [
    spec(CILIUM_IPCACHE, 'lpm_trie', 24, 12, 512000, NO_PREALLOC),
    spec(CILIUM_LXC, 'hash', 20, 48, 65535, NO_PREALLOC),
    spec(CILIUM_TUNNEL_MAP, 'hash', 20, 20, 65536, NO_PREALLOC),
    spec(CILIUM_CALL_POLICY, 'prog_array', 4, 4, 65535, 0),
  ]
  const local = pods.filter((p) => p.node === node.name)
  const remote = pods.filter((p) => p.node === other.name)
  const none = '0.0.0.0'
  const ipcache: LabIpcacheEntry[] = [
    ...local.map((p) => ({prefix: `${p.ip}/32`, identity: p.identity, tunnelEndpoint: none, encryptKey: 0, what: `pod ${p.name} (${p.node})`})),
    ...remote.map((p) => ({prefix: `${p.ip}/32`, identity: p.identity, tunnelEndpoint: other.underlayIp, encryptKey: 0, what: `pod ${p.name} (${p.node})`})),
    // Newer Cilium also keeps remote pod CIDRs (world identity) with their node as tunnel endpoint.
    {prefix: other.podCidr, identity: IDENTITY.world, tunnelEndpoint: other.underlayIp, encryptKey: 0, what: `pod CIDR of ${other.name}`},
    {prefix: `${node.routerIp}/32`, identity: IDENTITY.host, tunnelEndpoint: none, encryptKey: 0, what: `cilium_host of ${node.name}`},
    {prefix: `${other.routerIp}/32`, identity: IDENTITY.remoteNode, tunnelEndpoint: other.underlayIp, encryptKey: 0, what: `cilium_host of ${other.name}`},
    {prefix: `${node.underlayIp}/32`, identity: IDENTITY.host, tunnelEndpoint: none, encryptKey: 0, what: `${node.name} itself`},
    {prefix: `${other.underlayIp}/32`, identity: IDENTITY.remoteNode, tunnelEndpoint: none, encryptKey: 0, what: other.name},
    {prefix: '0.0.0.0/0', identity: IDENTITY.world, tunnelEndpoint: none, encryptKey: 0, what: 'world'},
  ]
  const host = (ip: string): LabEndpointEntry => ({ip, endpointId: 0, ifindex: 0, mac: '00:00:00:00:00:00', nodeMac: '00:00:00:00:00:00', flags: 1})
  const endpoints: LabEndpointEntry[] = [
    ...local.map((p) => ({ip: p.ip, endpointId: p.endpointId, ifindex: p.lxc.ifindex, mac: p.eth0.mac, nodeMac: p.lxc.mac, flags: 0, pod: p.name})),
    host(node.routerIp),
    host(node.underlayIp),
  ]
  const tunnels: LabTunnelEntry[] = [{ip: other.podCidr.split('/')[0]!, tunnelEndpoint: other.underlayIp, encryptKey: 0}]
  return {node: node.name, maps, ipcache, endpoints, tunnels}
}
