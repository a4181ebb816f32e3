/**
 * Where a Linux bridge sends a frame, as br_handle_frame_finish (a frame in by a port) and br_dev_xmit (a packet
 * routed onto the bridge) decide it: the FDB entry for the destination MAC (br_fdb_find_rcu → br_forward), else a
 * flood (br_flood); never back out of the port it came in by without hairpin mode (should_deliver); with VLAN
 * filtering, only within the frame's VLAN (bridge-vlan.ts). docs/kernel-notes.md#kn-15-bridge-forwarding, kn-23,
 * kn-24. Pure: reads the node's devices, neighbours, FDB and bridge VLANs.
 */
import type {NodeState} from '../../model/node-state.js'
import type {Device} from '../../model/hooks.js'
import type {Evidence} from '../../model/path.js'
import {vlanFilteringOf, vlanOnEgress, vlanOnIngress} from './bridge-vlan.js'
import {peerNetnsOf} from './placement.js'

/** The bridge's choice for one frame, with what it rests on. */
export type BridgeDecision =
  | {kind: 'port'; port: Device; flooded: boolean; what: string; evidence: Evidence; details: string[]; tag?: number}
  | {kind: 'up'; what: string; evidence: Evidence; details: string[]}
  | {kind: 'drop'; what: string; evidence: Evidence; details: string[]}
  | {kind: 'unknown'; what: string; details: string[]}

/** The devices enslaved to a bridge (`master <bridge>` in ip link). */
function portsOf(node: NodeState, bridge: Device): Device[] {
  return node.hooks.devices.filter((d) => d.master === bridge.name && d.name !== bridge.name)
}

/** The bridge a device is a port of, when it is one. */
export function bridgeOf(node: NodeState, dev: Device): Device | undefined {
  if (!dev.master) return undefined
  const b = node.hooks.devices.find((d) => d.name === dev.master)
  return b?.kind === 'bridge' ? b : undefined
}

/** The port behind which `ip` lives: the one whose peer netns (read) holds the address. */
function portHolding(node: NodeState, ports: Device[], ip: string): {port: Device; how: string} | undefined {
  for (const p of ports) {
    const ns = peerNetnsOf(node, p)
    const owner = ns ? node.netnsDevices.get(ns)?.find((d) => d.addresses.some((a) => a.local === ip)) : undefined
    if (ns && owner) return {port: p, how: `${ip} is an address of ${owner.name} in netns ${ns}, behind ${p.name}`}
  }
  return undefined
}

/** The destination MAC of the frame: the neighbour entry for the next hop, else the MAC its owner has (ARP's answer). */
function destinationMac(node: NodeState, bridge: Device, ports: Device[], nextHop: string): {mac: string; how: string} | undefined {
  const n = node.hooks.neighbours.find((x) => x.dst === nextHop && x.dev === bridge.name && x.lladdr)
  if (n?.lladdr) return {mac: n.lladdr.toLowerCase(), how: `neighbour ${nextHop} lladdr ${n.lladdr} on ${bridge.name} (ip neigh, ${n.state.join(',') || 'no state'})`}
  for (const p of ports) {
    const ns = peerNetnsOf(node, p)
    const owner = ns ? node.netnsDevices.get(ns)?.find((d) => d.mac && d.addresses.some((a) => a.local === nextHop)) : undefined
    if (owner?.mac) return {mac: owner.mac.toLowerCase(), how: `no neighbour entry for ${nextHop} on ${bridge.name} yet: ARP resolves it to ${owner.mac}, ${owner.name}'s MAC in netns ${ns}`}
  }
  return undefined
}

/**
 * The bridge's decision for a frame towards `nextHop` (the packet's L3 next hop: its gateway, else its destination).
 * `inPort`: the port it came in by (absent: the node routed it onto the bridge, br_dev_xmit).
 */
export function bridgeForwarding(node: NodeState, bridge: Device, nextHop: string, inPort?: Device): BridgeDecision {
  const ports = portsOf(node, bridge)
  const details: string[] = []
  let evidence: Evidence = 'kernel'
  const vf = vlanFilteringOf(node, bridge)
  let vid: number | undefined
  if (vf.kind === 'unread') {
    details.push(`${bridge.name} has VLAN filtering on (vlan_filtering 1) and its VLANs (bridge vlan) were not read: assumed the frame's VLAN is allowed on both ports`)
    evidence = 'assumed'
  } else if (vf.kind === 'on') {
    // br_handle_frame_finish (a port) and br_dev_xmit (the bridge device) call br_allowed_ingress before the FDB lookup.
    const ing = vlanOnIngress(vf, inPort ?? bridge, !inPort)
    if ('drop' in ing) return {kind: 'drop', what: ing.drop, evidence, details}
    vid = ing.vid
    details.push(ing.said)
  }
  // A frame to one of the bridge's own addresses is for the bridge device: its MAC is a local FDB entry (br_pass_frame_up).
  const own = bridge.addresses.find((a) => a.local === nextHop)
  if (own) {
    if (!inPort) return {kind: 'unknown', what: `${bridge.name} sends a frame to its own address ${nextHop}`, details}
    // br_pass_frame_up: `if (!(brdev->flags & IFF_PROMISC) && !br_allowed_egress(vg, skb))` drops it; the bridge's own VLANs decide.
    if (vf.kind === 'on' && vid !== undefined) {
      const up = vlanOnEgress(vf, bridge, vid, true)
      if ('drop' in up) return {kind: 'drop', what: `the frame for ${nextHop} (${bridge.name}'s own address) is not passed up: ${up.drop}`, evidence, details}
    }
    return {kind: 'up', what: `${nextHop} is ${bridge.name}'s own address: the frame is for its MAC${bridge.mac ? ` ${bridge.mac}` : ''} (a local FDB entry), passed up to ${bridge.name}`, evidence, details: [...details, 'br_handle_frame_finish: a local FDB entry → br_pass_frame_up: the node receives it on the bridge device']}
  }
  const dmac = destinationMac(node, bridge, ports, nextHop)
  // br_fdb_find_rcu(br, dest, vid): with VLAN filtering an entry is for one VLAN (`vlan` in bridge fdb).
  const entry = dmac ? node.fdb.find((f) => f.master === bridge.name && f.mac.toLowerCase() === dmac.mac && !f.flags?.includes('self') && (vid === undefined || f.vlan === vid)) : undefined
  let port: Device | undefined
  let flooded = false
  if (dmac) details.push(dmac.how)
  if (entry) {
    port = ports.find((p) => p.name === entry.dev)
    details.push(`FDB of ${bridge.name}: ${entry.mac}${entry.vlan !== undefined ? ` vlan ${entry.vlan}` : ''} on port ${entry.dev}${entry.state ? ` (${entry.state})` : ''} (bridge fdb; br_fdb_find_rcu → br_forward)`)
    if (!port) return {kind: 'unknown', what: `${bridge.name}'s FDB sends ${entry.mac} to ${entry.dev}, which is not one of its ports read`, details}
    // A port's own MAC is a local entry: the frame is for the node (br_pass_frame_up).
    if (port.mac?.toLowerCase() === dmac!.mac && entry.state === 'permanent') {
      if (!inPort) return {kind: 'unknown', what: `${bridge.name} sends a frame to its port ${port.name}'s own MAC`, details}
      return {kind: 'up', what: `${dmac!.mac} is ${port.name}'s own MAC (a local FDB entry): passed up to ${bridge.name}`, evidence, details}
    }
  } else {
    const holder = portHolding(node, ports, nextHop)
    // br_flood → should_deliver: not back by the ingress port without hairpin; with VLAN filtering, only the VLAN's ports.
    const others = ports.filter((p) => (p !== inPort || p.bridgePort?.hairpin) && (vf.kind !== 'on' || vid === undefined || !('drop' in vlanOnEgress(vf, p, vid))))
    details.push(`${bridge.name}'s FDB has no entry for ${dmac ? dmac.mac : `${nextHop}'s MAC (unknown)`}${vid !== undefined ? ` in VLAN ${vid}` : ''}: br_flood sends it to every port${inPort ? ` but ${inPort.name}` : ''}${vid !== undefined ? ` in VLAN ${vid}` : ''} (${others.map((p) => p.name).join(', ') || 'none'})`)
    if (!holder) return {kind: 'unknown', what: `${bridge.name} floods the frame: no port read leads to ${nextHop}`, details}
    details.push(`${holder.how}: that port's copy is the one taken (assumed; the others are dropped where nothing holds ${nextHop})`)
    port = holder.port
    flooded = true
    evidence = 'assumed'
  }
  // should_deliver (br_forward.c): `((p->flags & BR_HAIRPIN_MODE) || skb->dev != p->dev) && br_allowed_egress(vg, skb) && …`.
  if (port === inPort && !port.bridgePort?.hairpin) {
    return {kind: 'drop', what: `${nextHop} is behind ${port.name}, the port the frame came in by, and hairpin mode is off on it`, evidence, details: [...details, 'should_deliver (br_forward.c): a frame leaves by the port it came in by only with hairpin mode on (docs/kernel-notes.md#kn-24-bridge-hairpin)']}
  }
  if (port === inPort) details.push(`hairpin mode is on for ${port.name}: the frame leaves by the port it came in by (should_deliver: BR_HAIRPIN_MODE)`)
  if (port.bridgePort?.state && port.bridgePort.state !== 'forwarding') {
    return {kind: 'drop', what: `port ${port.name} is in STP state ${port.bridgePort.state}, not forwarding`, evidence, details: [...details, 'should_deliver: only a port in the forwarding state sends frames']}
  }
  let tag: number | undefined
  if (vf.kind === 'on' && vid !== undefined) {
    const eg = vlanOnEgress(vf, port, vid)
    if ('drop' in eg) return {kind: 'drop', what: eg.drop, evidence, details}
    details.push(eg.said)
    if (!eg.untagged) tag = vid
  }
  return {kind: 'port', port, flooded, ...(tag !== undefined ? {tag} : {}), what: `${bridge.name} ${flooded ? 'floods' : 'forwards'} the frame for ${nextHop} to port ${port.name}${tag !== undefined ? ` tagged VLAN ${tag}` : ''}`, evidence, details}
}
