import type {NodeState} from '../../model/node-state.js'
import {DATAPATHS, factsOf} from '../../datapaths/registry.js'
import type {Device} from '../../model/hooks.js'
import type {Evidence} from '../../model/path.js'
import {compact} from '../../util/compact.js'
import {encapsulated} from './boundaries.js'
import type {Packet} from './packet.js'
import type {PathRecorder} from './path-recorder.js'
import {uplinkOf} from './placement.js'

/**
 * The outer destination of a packet sent on a VXLAN device, in the order the kernel would have it: the tunnel
 * key a program set (collect-metadata devices), the device's own `remote`, its FDB (which VTEP the next hop's
 * MAC, or the all-zero default entry, goes to), a datapath plugin's tunnel map, and, failing all, the other
 * node read whose VXLAN device is local to an address (assumed).
 */
function tunnelRemote(nodes: readonly NodeState[], node: NodeState, dev: Device, pkt: Packet, gateway: string | undefined): {remote?: string; how: string; evidence: Evidence} {
  if (pkt.outer?.dst) return {remote: pkt.outer.dst, how: 'the tunnel key set by the program', evidence: 'program'}
  if (dev.vxlan?.remote) return {remote: dev.vxlan.remote, how: `${dev.name}'s remote`, evidence: 'kernel'}
  if (!dev.vxlan?.external) {
    const e = node.fdb.find((f) => f.dev === dev.name && f.dst && f.mac === '00:00:00:00:00:00') ?? node.fdb.find((f) => f.dev === dev.name && f.dst)
    if (e?.dst) return {remote: e.dst, how: `the FDB of ${dev.name}: ${e.mac} dst ${e.dst} (bridge fdb)`, evidence: 'kernel'}
  }
  for (const plugin of DATAPATHS) {
    const t = plugin.tunnelEndpointOf(factsOf(plugin, node.datapaths), pkt.tuple.dst)
    if (t) return {remote: t.remote, how: t.how, evidence: 'program'}
  }
  if (gateway) {
    const other = nodes.find((n) => n !== node && n.hooks.devices.some((d) => d.kind === 'vxlan' && d.vxlan?.local && n.hooks.devices.some((x) => x.addresses.some((a) => a.local === d.vxlan!.local))))
    if (other) {
      const ovx = other.hooks.devices.find((d) => d.kind === 'vxlan')!
      return {remote: ovx.vxlan!.local, how: `${dev.name} has no remote; the other node's ${ovx.name} is local to ${ovx.vxlan!.local} (FDB not read: assumed)`, evidence: 'assumed'}
    }
  }
  return {how: '', evidence: 'assumed'}
}

/** Encapsulation by a VXLAN device: the outer header is added and the packet goes out as the node's own; false when the outer destination is unknown (the walk ends). */
export function encapsulate(rec: PathRecorder, nodes: readonly NodeState[], node: NodeState, dev: Device, pkt: Packet, gateway: string | undefined): boolean {
  const {remote, how, evidence} = tunnelRemote(nodes, node, dev, pkt, gateway)
  const local = dev.vxlan?.local ?? uplinkOf(node)?.addresses.find((a) => a.family === 'inet')?.local
  if (!remote || !local) {
    rec.push(node, {kind: 'encap', where: {device: dev.name, ifindex: dev.ifindex, hook: 'vxlan'}, what: `encapsulated by ${dev.name}; outer destination unknown (no tunnel key, remote or ipcache entry read)`, verdict: 'encapsulate', verdictKind: 'encapsulate', pkt, evidence: 'assumed', details: []})
    rec.unseen.push(`${node.label} ${dev.name}: the VXLAN destination (FDB) was not read`)
    rec.end('unknown', `encapsulated by ${dev.name} towards an unknown node`)
    return false
  }
  // An external (collect-metadata) device takes its VNI from the tunnel key, not from its own configuration.
  const vni = dev.vxlan?.external ? pkt.outer?.vni : dev.vxlan?.vni
  const outer = compact({src: local, dst: remote, proto: 'udp' as const, sport: undefined, dport: dev.vxlan?.port ?? 8472, vni})
  // xnet: the tunnel's underlay is in another netns (!net_eq(vxlan->net, dev_net(vxlan->dev)), kn-12).
  const said = encapsulated(pkt, outer, dev.vxlan?.underlayNetnsId !== undefined)
  rec.push(node, {kind: 'encap', where: {device: dev.name, ifindex: dev.ifindex, hook: 'vxlan'}, what: `encapsulated by ${dev.name}: outer ${local} → ${remote} UDP ${outer.dport}${vni !== undefined ? ` VNI ${vni}` : dev.vxlan?.external ? ' (VNI from the tunnel key)' : ''}`, verdict: 'encapsulate', verdictKind: 'encapsulate', pkt, evidence, details: [`outer destination from ${how}`, ...said]})
  return true
}
