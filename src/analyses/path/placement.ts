/** Where the walk places things on a node's devices: a pod's host side, the uplink, the programs on a hook. */
import type {NodeState} from '../../model/node-state.js'
import {DATAPATHS, factsOf} from '../../datapaths/registry.js'
import type {Device, HookAttachment} from '../../model/hooks.js'

const netnsOf = (node: NodeState, d: Device): string | undefined => d.peer?.netns ?? (d.peer?.netnsId !== undefined ? node.hooks.netnsNames.get(d.peer.netnsId) : undefined)

/** The named netns at the other end of a veth or netkit device. */
export const peerNetnsOf = netnsOf

/**
 * The netns a packet sent on a veth or netkit device arrives in: its peer's (link_netnsid, named by
 * `ip netns list-id`; docs/kernel-notes.md#kn-2-veth-peer-fields). Undefined for other devices.
 */
export function arrivesIn(node: NodeState, dev: Device): {name: string; how: string} | undefined {
  if ((dev.kind !== 'veth' && dev.kind !== 'netkit') || !dev.peer || dev.peer.sameNetns) return undefined
  const peer = `${dev.name}'s peer${dev.peer.ifindex !== undefined ? ` (ifindex ${dev.peer.ifindex} there)` : ''}`
  const ns = netnsOf(node, dev)
  if (ns) return {name: `netns ${ns}`, how: `${peer} is in netns ${ns}${dev.peer.netnsId !== undefined ? ` (link_netnsid ${dev.peer.netnsId}, ip netns list-id)` : ''}`}
  if (dev.peer.netnsId !== undefined) return {name: `the netns of nsid ${dev.peer.netnsId}`, how: `${peer} is in the netns of nsid ${dev.peer.netnsId}, which ip netns list-id does not name`}
  return {name: 'another netns', how: `${peer} is in another netns, which the dump does not identify`}
}

/** The host-side device of the pod that owns `ip`: a datapath's endpoint map, a host route, or the pod's own addresses. */
function podDeviceFor(node: NodeState, ip: string): {dev: Device; netns?: string; how: string} | undefined {
  const devs = node.hooks.devices
  for (const plugin of DATAPATHS) {
    const ep = plugin.endpointOf(factsOf(plugin, node.datapaths), ip)
    const d = ep ? devs.find((x) => x.ifindex === ep.ifindex) : undefined
    if (ep && d) return {dev: d, netns: netnsOf(node, d), how: ep.detail}
  }
  for (const r of node.hooks.routes) {
    if (r.dst !== ip && r.dst !== `${ip}/32` && r.dst !== `${ip}/128`) continue
    const d = devs.find((x) => x.name === r.dev && (x.kind === 'veth' || x.kind === 'netkit') && x.peer && !x.peer.sameNetns)
    if (d) return {dev: d, netns: netnsOf(node, d), how: `host route ${r.dst} dev ${r.dev}`}
  }
  for (const [ns, nsDevs] of node.netnsDevices) {
    const owner = nsDevs.find((x) => x.addresses.some((a) => a.local === ip))
    if (!owner) continue
    const d = devs.find((x) => netnsOf(node, x) === ns && (x.peer?.ifindex === undefined || x.peer.ifindex === owner.ifindex))
    if (d) return {dev: d, netns: ns, how: `pod netns ${ns} holds ${ip} on ${owner.name}`}
  }
  return undefined
}

/** Where a flow starts: behind a pod's device, on the node itself, or (on no node read) the wire. */
export function locateSource(nodes: readonly NodeState[], src: string): {kind: 'pod'; node: NodeState; dev: Device; podNetns?: string} | {kind: 'host'; node: NodeState; dev: Device} | {kind: 'wire'} {
  for (const node of nodes) {
    const dev = podDeviceFor(node, src)
    if (dev) return {kind: 'pod', node, dev: dev.dev, ...(dev.netns ? {podNetns: dev.netns} : {})}
  }
  for (const node of nodes) {
    const d = node.hooks.devices.find((x) => x.addresses.some((a) => a.local === src))
    if (d) return {kind: 'host', node, dev: d}
  }
  return {kind: 'wire'}
}

/** The device the node's traffic to other nodes leaves by: a tunnel's lower device, the default route's, or a NIC. */
export function uplinkOf(node: NodeState): Device | undefined {
  const vx = node.hooks.devices.find((d) => d.vxlan?.dev)
  if (vx) return node.hooks.devices.find((d) => d.name === vx.vxlan!.dev)
  const def = node.hooks.routes.find((r) => r.dst === 'default' && r.dev)
  if (def) return node.hooks.devices.find((d) => d.name === def.dev)
  return node.hooks.devices.find((d) => d.kind === 'physical' || (d.kind === 'veth' && d.name.startsWith('eth')))
}

export function isUplink(node: NodeState, dev: Device): boolean {
  return node.hooks.devices.some((d) => d.vxlan?.dev === dev.name) || node.hooks.routes.some((r) => r.dst === 'default' && r.dev === dev.name)
}

/** MASQUERADE's choice when the route gives no source: the first address of the output device's family. */
export function addressOn(dev: Device, dst: string): string | undefined {
  const fam = dst.includes(':') ? 'inet6' : 'inet'
  return dev.addresses.find((a) => a.family === fam && a.scope !== 'link')?.local
}

const HOOK_ORDER: Record<string, number> = {xdp: 0, 'tcx-ingress': 1, 'tc-ingress': 2, 'tcx-egress': 3, 'tc-egress': 4}

/** The programs on a device's receive or transmit path, in the order the kernel runs them (XDP, tcx, then clsact by pref). */
export function attachmentsOf(node: NodeState, dev: Device, dir: 'ingress' | 'egress'): HookAttachment[] {
  const hooks = dir === 'ingress' ? ['xdp', 'tcx-ingress', 'tc-ingress'] : ['tcx-egress', 'tc-egress']
  return node.attachments
    .filter((a) => a.ifindex === dev.ifindex && hooks.includes(a.hook))
    .sort((a, b) => (HOOK_ORDER[a.hook] ?? 9) - (HOOK_ORDER[b.hook] ?? 9) || (a.tcx?.position ?? 0) - (b.tcx?.position ?? 0) || (a.tc?.pref ?? 0) - (b.tc?.pref ?? 0))
}
