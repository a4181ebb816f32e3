/**
 * Where a macvlan device sends a frame, as drivers/net/macvlan.c decides it (docs/kernel-notes.md#kn-26-macvlan-bridge-mode):
 * macvlan_queue_xmit, in `bridge` mode, looks the destination MAC up among the macvlans of the same lower device
 * (macvlan_hash_lookup) and, when that sibling is in `bridge` mode too, hands the frame to the lower device's receive
 * path (dev_forward_skb), whose rx_handler (macvlan_handle_frame) passes it to the sibling: it never reaches the
 * lower device's wire. Every other case (`private`, `vepa`, no such sibling) transmits on the lower device. A frame the
 * lower device itself sends goes to its wire only: its macvlans never receive it. Pure: reads the nodes' devices.
 */
import type {NodeState} from '../../model/node-state.js'
import type {Device} from '../../model/hooks.js'

/** The lower device of a macvlan, as the netns holding it (by name) and its ifindex there. */
interface LowerKey {
  netns: string
  ifindex: number
}

const netnsOfNode = (node: NodeState): string => node.meta.netns ?? node.label

/** The lower device a macvlan of `node` sits on; undefined when its netns has no name the nodes can be matched by. */
function lowerOf(node: NodeState, dev: Device): LowerKey | undefined {
  const m = dev.macvlan
  if (!m) return undefined
  if (m.lowerNetnsId !== undefined) {
    const ns = node.hooks.netnsNames.get(m.lowerNetnsId)
    return ns && m.lowerIfindex !== undefined ? {netns: ns, ifindex: m.lowerIfindex} : undefined
  }
  const lower = node.hooks.devices.find((d) => d.name === dev.lower)
  return lower ? {netns: netnsOfNode(node), ifindex: lower.ifindex} : undefined
}

const sameLower = (a: LowerKey | undefined, b: LowerKey | undefined): boolean => !!a && !!b && a.netns === b.netns && a.ifindex === b.ifindex

/** The lower device itself, where one of the nodes read holds it. */
function lowerDevice(nodes: readonly NodeState[], key: LowerKey): {node: NodeState; dev: Device} | undefined {
  for (const node of nodes) {
    if (netnsOfNode(node) !== key.netns) continue
    const dev = node.hooks.devices.find((d) => d.ifindex === key.ifindex)
    if (dev) return {node, dev}
  }
  return undefined
}

export type MacvlanDecision =
  | {kind: 'sibling'; node: NodeState; dev: Device; lower?: {node: NodeState; dev: Device}; xnet: boolean; what: string; details: string[]}
  | {kind: 'lower'; lower?: {node: NodeState; dev: Device}; what: string; details: string[]}
  | {kind: 'unknown'; what: string; details: string[]}

/** macvlan_queue_xmit for a frame that `dev` (a macvlan of `node`) sends towards the L3 next hop `nextHop`. */
export function macvlanXmit(nodes: readonly NodeState[], node: NodeState, dev: Device, nextHop: string): MacvlanDecision {
  const mode = dev.macvlan?.mode ?? 'unknown'
  const key = lowerOf(node, dev)
  const lowerName = key ? `ifindex ${key.ifindex} in netns ${key.netns}` : dev.lower ?? 'its lower device'
  const details = [`${dev.name} is a macvlan in ${mode} mode on ${lowerName} (ip -d link)`]
  if (!key) {
    const nsid = dev.macvlan?.lowerNetnsId
    return {kind: 'unknown', what: `${dev.name}'s lower device could not be placed${nsid !== undefined ? ` (its netns, nsid ${nsid}, has no name: ip netns list-id)` : ''}: which macvlans share it is unknown`, details}
  }
  const lower = lowerDevice(nodes, key)
  // The destination MAC is the next hop's, as ARP resolves it: the sibling that holds the next hop's address.
  let sibling: {node: NodeState; dev: Device} | undefined
  for (const n of nodes) {
    const d = n.hooks.devices.find((x) => x !== dev && x.kind === 'macvlan' && x.addresses.some((a) => a.local === nextHop) && sameLower(lowerOf(n, x), key))
    if (d) sibling = {node: n, dev: d}
  }
  const toLower = (why: string): MacvlanDecision => ({
    kind: 'lower',
    ...(lower ? {lower} : {}),
    what: `${dev.name} (${mode}) transmits the frame for ${nextHop} on its lower device ${lower ? `${lower.dev.name} (netns ${key.netns})` : lowerName}`,
    details: [...details, why, 'macvlan_queue_xmit → xmit_world: skb->dev = lowerdev, dev_queue_xmit'],
  })
  if (lower?.dev.addresses.some((a) => a.local === nextHop)) {
    return toLower(`${nextHop} is an address of the lower device ${lower.dev.name} itself, which is no macvlan of the port (macvlan_hash_lookup finds none): a macvlan cannot reach its own lower device`)
  }
  if (!sibling) return toLower(`no macvlan read on the same lower device holds ${nextHop}`)
  const where = `${sibling.dev.name} in netns ${netnsOfNode(sibling.node)}`
  if (mode !== 'bridge') return toLower(`${nextHop} is on the sibling ${where}, but only bridge mode hands frames to siblings directly (${mode}: the frame leaves by the lower device${mode === 'vepa' ? '; only a switch that reflects it (802.1Qbg hairpin) brings it back' : ''})`)
  if (sibling.dev.macvlan?.mode !== 'bridge') return toLower(`${nextHop} is on the sibling ${where}, in ${sibling.dev.macvlan?.mode ?? 'unknown'} mode: macvlan_queue_xmit hands a frame to a sibling only in bridge mode (dest->mode == MACVLAN_MODE_BRIDGE)`)
  const senderNetns = netnsOfNode(node)
  return {
    kind: 'sibling',
    node: sibling.node,
    dev: sibling.dev,
    ...(lower ? {lower} : {}),
    xnet: senderNetns !== key.netns,
    what: `${dev.name} (bridge) hands the frame for ${nextHop} to its sibling ${where} (bridge): it never reaches the lower device's wire`,
    details: [
      ...details,
      `${nextHop} is an address of ${sibling.dev.name} (netns ${netnsOfNode(sibling.node)}), a macvlan in bridge mode on the same lower device`,
      'macvlan_queue_xmit: MACVLAN_MODE_BRIDGE, macvlan_hash_lookup(port, h_dest) finds the sibling → dev_forward_skb(lowerdev) → macvlan_handle_frame (the lower device\'s rx_handler) → the sibling receives it',
    ],
  }
}

/**
 * A macvlan child of `dev` (a lower device of `node`) that holds `addr` on one of the nodes read: a frame `dev` sends
 * never reaches it (its own transmissions go to its wire; macvlan_handle_frame only sees frames it receives).
 */
export function macvlanChildHolding(nodes: readonly NodeState[], node: NodeState, dev: Device, addr: string): {node: NodeState; dev: Device} | undefined {
  const key: LowerKey = {netns: netnsOfNode(node), ifindex: dev.ifindex}
  for (const n of nodes) {
    const d = n.hooks.devices.find((x) => x.kind === 'macvlan' && x.addresses.some((a) => a.local === addr) && sameLower(lowerOf(n, x), key))
    if (d) return {node: n, dev: d}
  }
  return undefined
}
