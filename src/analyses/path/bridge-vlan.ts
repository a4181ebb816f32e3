/**
 * A bridge's VLAN filtering (`vlan_filtering` 1), as net/bridge/br_vlan.c decides it: the VLAN a frame gets where it
 * enters (br_allowed_ingress: an untagged frame takes the port's PVID; no PVID, or a VLAN the port does not have,
 * drops it), whether a port may send it (br_allowed_egress, from should_deliver) and with or without its tag
 * (br_handle_vlan: `Egress Untagged`). docs/kernel-notes.md#kn-23-bridge-vlan-filtering. Pure.
 */
import type {NodeState} from '../../model/node-state.js'
import type {BridgeVlan, Device} from '../../model/hooks.js'

/** Whether VLAN filtering decides anything on a bridge: off, on with each port's VLANs read, or on and not read. */
export type VlanFiltering = {kind: 'off'} | {kind: 'unread'} | {kind: 'on'; vlansOf: (dev: Device) => BridgeVlan[]}

export function vlanFilteringOf(node: NodeState, bridge: Device): VlanFiltering {
  if (!bridge.bridge?.vlanFiltering) return {kind: 'off'}
  const read = node.bridgeVlans
  if (!read) return {kind: 'unread'}
  return {kind: 'on', vlansOf: (dev) => read.find((p) => p.dev === dev.name)?.vlans ?? []}
}

const member = (vlans: BridgeVlan[], vid: number): BridgeVlan | undefined => vlans.find((v) => vid >= v.vid && vid <= (v.vidEnd ?? v.vid))

const listed = (vlans: BridgeVlan[]): string => (vlans.length ? vlans.map((v) => `${v.vid}${v.vidEnd ? `-${v.vidEnd}` : ''}${v.pvid ? ' PVID' : ''}${v.untagged ? ' untagged' : ''}`).join(', ') : 'none')

/**
 * The VLAN of an untagged frame entering by `dev` (a port; or the bridge device itself for a frame the node sends,
 * br_dev_xmit → br_allowed_ingress with the bridge's own VLAN group). The frames the walk follows are untagged: a pod
 * or the node sends them from a plain device (a VLAN device on top is not modelled).
 */
export function vlanOnIngress(f: Extract<VlanFiltering, {kind: 'on'}>, dev: Device, isBridge: boolean): {vid: number; said: string} | {drop: string} {
  const vlans = f.vlansOf(dev)
  const who = isBridge ? `${dev.name} itself (bridge vlan … self)` : `port ${dev.name}`
  const pvid = vlans.find((v) => v.pvid)
  // __allowed_ingress: `if (!*vid) { pvid = br_get_pvid(vg); if (!pvid) goto drop; …}`, then the VLAN must be in the group.
  if (!pvid) return {drop: `${who} has no PVID (its VLANs: ${listed(vlans)}): an untagged frame entering there is dropped (br_allowed_ingress)`}
  return {vid: pvid.vid, said: `VLAN filtering: the untagged frame entering by ${who} gets its PVID ${pvid.vid} (br_allowed_ingress)`}
}

/** Whether `port` sends a frame of VLAN `vid`, and tagged or not (br_allowed_egress, br_handle_vlan). */
export function vlanOnEgress(f: Extract<VlanFiltering, {kind: 'on'}>, port: Device, vid: number, isBridge = false): {untagged: boolean; said: string} | {drop: string} {
  const vlans = f.vlansOf(port)
  const v = member(vlans, vid)
  const who = isBridge ? `${port.name} itself` : `port ${port.name}`
  if (!v) return {drop: `VLAN ${vid} is not configured on ${who} (its VLANs: ${listed(vlans)}): br_allowed_egress refuses to send the frame there`}
  return {untagged: v.untagged, said: `${who} is in VLAN ${vid}${v.untagged ? ', Egress Untagged: the frame leaves without a tag' : ': the frame leaves tagged with VLAN ' + vid} (br_allowed_egress, br_handle_vlan)`}
}
