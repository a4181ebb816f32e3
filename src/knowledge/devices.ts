import type {Device} from '../model/hooks.js'

/** What a device is for on a Kubernetes node, from naming conventions of the CNIs plus kernel facts. */
export type DeviceRole =
  | 'pod-endpoint'
  | 'health-endpoint'
  | 'overlay'
  | 'uplink'
  | 'cilium-host'
  | 'cilium-net'
  | 'bridge'
  | 'ipvs'
  | 'node-local-dns'
  | 'wireguard'
  | 'loopback'
  | 'other'

export interface RoleFinding {
  role: DeviceRole
  /** Why: the convention or kernel fact it rests on. */
  because: string
  software?: string
}

/** Facts about the node that decide roles beyond a device's own name. */
export interface RoleContext {
  /** Devices that default routes leave by. */
  defaultRouteDevs: Set<string>
  /** Lower devices of tunnels (vxlan `dev eth0`) and devices holding a tunnel's local address. */
  underlayDevs: Set<string>
}

export function deviceRole(d: Device, ctx: RoleContext): RoleFinding {
  const n = d.name
  if (d.kind === 'loopback') return {role: 'loopback', because: 'loopback device'}
  if (n === 'lxc_health') return {role: 'health-endpoint', because: 'name lxc_health (Cilium health endpoint)', software: 'Cilium'}
  if (n === 'cilium_host') return {role: 'cilium-host', because: 'name cilium_host (Cilium router device)', software: 'Cilium'}
  if (n === 'cilium_net') return {role: 'cilium-net', because: 'name cilium_net (peer of cilium_host)', software: 'Cilium'}
  if (/^lxc/.test(n) && (d.kind === 'veth' || d.kind === 'netkit')) return {role: 'pod-endpoint', because: `host side of a pod ${d.kind} (lxc* naming)`, software: 'Cilium'}
  if (/^cali/.test(n) && d.kind === 'veth') return {role: 'pod-endpoint', because: 'host side of a pod veth (cali* naming)', software: 'Calico'}
  if (/^(veth|gke|eni|azv|vnet)/.test(n) && d.kind === 'veth' && d.peer && !d.peer.sameNetns) return {role: 'pod-endpoint', because: `veth whose peer is in another netns${d.master ? ` (port of ${d.master})` : ''}`}
  if (['vxlan', 'geneve', 'ipip', 'gre'].includes(d.kind) || /^(cilium_vxlan|cilium_geneve|flannel\.\d+|vxlan\.calico|vxlan-v6\.calico|genev_sys_\d+|tunl0)$/.test(n))
    return {role: 'overlay', because: `${d.kindRaw ?? d.kind} tunnel device`, software: n.startsWith('cilium') ? 'Cilium' : n.startsWith('flannel') ? 'flannel' : n.includes('calico') || n === 'tunl0' ? 'Calico' : undefined}
  if (d.kind === 'wireguard' || /^(cilium_wg\d+|wireguard\.cali|flannel-wg|wg\d+)$/.test(n)) return {role: 'wireguard', because: 'WireGuard device'}
  if (n === 'kube-ipvs0') return {role: 'ipvs', because: 'name kube-ipvs0 (kube-proxy IPVS service addresses)', software: 'kube-proxy'}
  if (n === 'nodelocaldns') return {role: 'node-local-dns', because: 'name nodelocaldns (NodeLocal DNSCache)'}
  if (ctx.underlayDevs.has(n)) return {role: 'uplink', because: 'carries the overlay (lower device or local address of a tunnel)'}
  if (ctx.defaultRouteDevs.has(n)) return {role: 'uplink', because: 'a default route leaves by it'}
  if (d.kind === 'bridge') return {role: 'bridge', because: 'bridge device'}
  if (d.kind === 'physical' && /^(eth|ens|enp|eno|em|bond)\d/.test(n)) return {role: 'uplink', because: 'physical NIC (name), no default route seen'}
  return {role: 'other', because: 'no convention matched'}
}
