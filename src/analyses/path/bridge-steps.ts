/**
 * The walk's steps at a Linux bridge: a packet routed onto it (br_dev_xmit) or a frame in by one of its ports
 * (br_handle_frame), its `bridge` step from bridge-forwarding.ts, and for a bridged IPv4 frame with br_netfilter on
 * the iptables hooks it crosses (br_nf_pre_routing, br_nf_forward_ip, br_nf_post_routing; kn-16).
 */
import type {NodeState} from '../../model/node-state.js'
import type {Device} from '../../model/hooks.js'
import type {RouteAnswer, RouteQuery} from '../../model/routing.js'
import {familyOf} from '../../util/ip.js'
import {bridgeForwarding, type BridgeDecision} from './bridge-forwarding.js'
import type {NetfilterSteps} from './netfilter-steps.js'
import type {Packet} from './packet.js'
import type {PathRecorder} from './path-recorder.js'

export class BridgeSteps {
  constructor(
    private readonly rec: PathRecorder,
    private readonly nf: NetfilterSteps,
    /** The kernel's route lookup (the walk's deps): br_netfilter re-routes a bridged frame whose destination DNAT changed. */
    private readonly route: (node: NodeState, q: RouteQuery) => Promise<RouteAnswer>,
  ) {}

  /** A packet the node routed onto `bridge`: the port it leaves by, or undefined when the walk ends here. */
  fromRoute(node: NodeState, bridge: Device, pkt: Packet, nextHop: string): Device | undefined {
    const d = bridgeForwarding(node, bridge, nextHop)
    // br_dev_xmit: a frame the node sends has no br_netfilter state; it crossed FORWARD/POSTROUTING as a routed packet (kn-16).
    const said = brNetfilterOn(node, bridge) ? ['sent by the node (br_dev_xmit): br_netfilter does not run iptables again for it (br_nf_post_routing: no nf_bridge state)'] : []
    return this.record(node, bridge, d, pkt, said)
  }

  /**
   * A frame in by `port` of `bridge` towards the L3 next hop `nextHop`: passed up to the bridge (the stack receives it
   * there; `preroutingDone` when br_netfilter already ran PREROUTING for it), sent out by another port, or the end of
   * the walk.
   */
  async fromPort(node: NodeState, port: Device, bridge: Device, pkt: Packet, nextHop: string): Promise<{at: 'stack'; dev: Device; preroutingDone?: true} | {at: 'egress'; dev: Device} | undefined> {
    const d = bridgeForwarding(node, bridge, nextHop, port)
    if (d.kind === 'up') {
      this.record(node, bridge, d, pkt, [`in by port ${port.name} (br_handle_frame)`])
      return {at: 'stack', dev: bridge}
    }
    const ipv4 = familyOf(pkt.tuple.dst) === 'ipv4'
    const nfOn = brNetfilterOn(node, bridge)
    // br_nf_pre_routing runs at NF_BR_PRE_ROUTING (br_handle_frame), before br_handle_frame_finish's VLAN check and FDB lookup,
    // with the bridge as input device.
    const before = (pkt.outer ?? pkt.tuple).dst
    if (ipv4 && nfOn && !this.nf.run(node, 'prerouting', pkt, {iif: bridge.name})) return undefined
    const after = (pkt.outer ?? pkt.tuple).dst
    const said = [`in by port ${port.name} (br_handle_frame → br_handle_frame_finish)`, ...(ipv4 && d.kind === 'port' ? [brNetfilterSaid(node, bridge)] : [])]
    let decision: BridgeDecision = d
    if (after !== before) {
      const moved = await this.dnatMoved(node, port, bridge, pkt, before, after)
      if (!moved || 'at' in moved) return moved
      decision = moved.decision
      said.push(...moved.said)
    }
    const out = this.record(node, bridge, decision, pkt, said)
    if (!out) return undefined
    if (ipv4 && nfOn) {
      // br_nf_forward_ip and br_nf_post_routing: in- and out-device are the bridge (brnf_get_logical_dev, bridge_parent).
      if (!this.nf.run(node, 'forward', pkt, {iif: bridge.name, oif: bridge.name})) return undefined
      if (!this.nf.run(node, 'postrouting', pkt, {oif: bridge.name})) return undefined
    }
    return {at: 'egress', dev: out}
  }

  /**
   * br_nf_pre_routing_finish (net/bridge/br_netfilter_hooks.c) for a bridged frame whose destination PREROUTING
   * changed (DNAT): the kernel routes the new destination (ip_route_input with the bridge as input device). Routed out
   * by the bridge: still bridged, to the port behind the new destination's MAC (br_nf_pre_routing_finish_bridge: the
   * neighbour's MAC, then br_handle_frame_finish with the same ingress port). Routed elsewhere (or local): the frame's
   * destination MAC becomes the bridge's own (PACKET_HOST), it is passed up and routed by the stack, no longer
   * bridged. ip_route_input failing for forwarding off falls back to ip_route_output, taken only when it leaves by the
   * bridge. docs/kernel-notes.md#kn-25-bridged-dnat.
   */
  private async dnatMoved(node: NodeState, port: Device, bridge: Device, pkt: Packet, before: string, after: string): Promise<{decision: BridgeDecision; said: string[]} | {at: 'stack'; dev: Device; preroutingDone: true} | undefined> {
    const t = pkt.outer ?? pkt.tuple
    const family = familyOf(after) ?? 'ipv4'
    const where = {device: bridge.name, ifindex: bridge.ifindex, hook: 'bridge'}
    const input = await this.route(node, {family, dst: after, src: t.src, iif: bridge.name, mark: pkt.mark})
    let r = input
    const said = [`PREROUTING changed the destination ${before} → ${after}: br_nf_pre_routing_finish routes it again (ip_route_input, iif ${bridge.name}): ${input.error ?? `${input.type}${input.dev ? ` dev ${input.dev}` : ''}${input.gateway ? ` via ${input.gateway}` : ''}`}`, input.detail]
    if (input.error || !input.dev) {
      // `if (err != -EHOSTUNREACH || !in_dev || IN_DEV_FORWARD(in_dev)) goto free_skb;` then ip_route_output: bridged DNAT needs no forwarding.
      const output = await this.route(node, {family, dst: after, mark: pkt.mark})
      said.push(`ip_route_input failed; br_nf_pre_routing_finish tries ip_route_output (taken only if it leaves by ${bridge.name}): ${output.error ?? `dev ${output.dev}`}`, output.detail)
      if (output.error || output.dev !== bridge.name) {
        const what = `DNAT to ${after}: ip_route_input failed (${input.error ?? 'no device'}) and ip_route_output does not send it out ${bridge.name}: br_nf_pre_routing_finish frees the frame`
        this.rec.push(node, {kind: 'bridge', where, what, verdict: 'DROP', verdictKind: 'drop', pkt, evidence: input.evidence, details: said})
        this.rec.end('dropped', `dropped by ${bridge.name} on ${node.label}: ${what}`)
        return undefined
      }
      r = output
    }
    if (r.type === 'local' || r.dev !== bridge.name) {
      const what = `DNAT moved the destination to ${after}, ${r.type === 'local' ? 'an address of this node' : `routed out ${r.dev}`}, not ${bridge.name}: the frame is no longer bridged, passed up to ${bridge.name} and routed`
      this.rec.push(node, {kind: 'bridge', where, what, verdict: `up to ${bridge.name}`, verdictKind: 'pass-up', pkt, evidence: r.evidence, details: [`in by port ${port.name} (br_handle_frame)`, ...said, `br_nf_pre_routing_finish: the route's device is not the bridge: h_dest := ${bridge.name}'s MAC, PACKET_HOST → br_handle_frame_finish → br_pass_frame_up; PREROUTING is not run again (ip_sabotage_in)`]})
      return {at: 'stack', dev: bridge, preroutingDone: true}
    }
    const nextHop = r.gateway ?? after
    said.push(`routed out ${bridge.name} itself: still bridged, to the port behind ${nextHop}'s MAC (br_nf_pre_routing_finish_bridge: the neighbour's MAC, then br_handle_frame_finish from port ${port.name})`)
    return {decision: bridgeForwarding(node, bridge, nextHop, port), said}
  }

  /** The `bridge` step; the port the frame leaves by, or undefined when it ends the walk. */
  private record(node: NodeState, bridge: Device, d: BridgeDecision, pkt: Packet, said: string[]): Device | undefined {
    const where = {device: bridge.name, ifindex: bridge.ifindex, hook: 'bridge'}
    if (d.kind === 'unknown') {
      this.rec.push(node, {kind: 'bridge', where, what: d.what, verdict: 'unknown', verdictKind: 'unknown', pkt, evidence: 'assumed', details: [...said, ...d.details]})
      this.rec.end('unknown', d.what)
      return undefined
    }
    if (d.kind === 'drop') {
      this.rec.push(node, {kind: 'bridge', where, what: d.what, verdict: 'DROP', verdictKind: 'drop', pkt, evidence: d.evidence, details: [...said, ...d.details]})
      this.rec.end('dropped', `dropped by ${bridge.name} on ${node.label}: ${d.what}`)
      return undefined
    }
    if (d.kind === 'up') {
      this.rec.push(node, {kind: 'bridge', where, what: d.what, verdict: `up to ${bridge.name}`, verdictKind: 'pass-up', pkt, evidence: d.evidence, details: [...said, ...d.details]})
      return undefined
    }
    this.rec.push(node, {kind: 'bridge', where, what: d.what, verdict: `${d.flooded ? 'flood' : 'forward'} to ${d.port.name}${d.tag !== undefined ? ` (VLAN ${d.tag} tagged)` : ''}`, verdictKind: 'forward', pkt, evidence: d.evidence, details: [...said, ...d.details]})
    if (d.tag !== undefined) pkt.vlanTag = d.tag
    else delete pkt.vlanTag
    return d.port
  }
}

/**
 * br_nf_pre_routing: `if (!brnet->call_iptables && !br_opt_get(br, BROPT_NF_CALL_IPTABLES)) return NF_ACCEPT`: the
 * netns sysctl or the bridge's own nf_call_iptables; neither matters where br_netfilter is not loaded.
 */
function brNetfilterOn(node: NodeState, bridge: Device): boolean {
  if (node.brNetfilter?.present === false) return false
  return node.brNetfilter?.callIptables === true || bridge.bridge?.nfCallIptables === true
}

function brNetfilterSaid(node: NodeState, bridge: Device): string {
  const b = node.brNetfilter
  if (b?.present !== false && !b?.callIptables && bridge.bridge?.nfCallIptables) return `${bridge.name} has nf_call_iptables 1 (ip -d link): the bridged frame crosses iptables PREROUTING, FORWARD and POSTROUTING with the bridge as device (br_netfilter)`
  if (!b) return 'net.bridge.bridge-nf-call-iptables was not read: assumed off (bridged frames skip iptables)'
  if (!b.present) return 'br_netfilter is not loaded (/proc/sys/net/bridge absent): bridged frames skip iptables'
  return b.callIptables
    ? 'net.bridge.bridge-nf-call-iptables = 1: the bridged frame crosses iptables PREROUTING, FORWARD and POSTROUTING with the bridge as device (br_netfilter)'
    : 'net.bridge.bridge-nf-call-iptables = 0: bridged frames skip iptables'
}
