/**
 * The walk's steps at a Linux bridge: a packet routed onto it (br_dev_xmit) or a frame in by one of its ports
 * (br_handle_frame), its `bridge` step from bridge-forwarding.ts, and for a bridged IPv4 frame with br_netfilter on
 * the iptables hooks it crosses (br_nf_pre_routing, br_nf_forward_ip, br_nf_post_routing; kn-16).
 */
import type {NodeState} from '../../model/node-state.js'
import type {Device} from '../../model/hooks.js'
import {familyOf} from '../../util/ip.js'
import {bridgeForwarding, type BridgeDecision} from './bridge-forwarding.js'
import type {NetfilterSteps} from './netfilter-steps.js'
import type {Packet} from './packet.js'
import type {PathRecorder} from './path-recorder.js'

export class BridgeSteps {
  constructor(
    private readonly rec: PathRecorder,
    private readonly nf: NetfilterSteps,
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
   * there), sent out by another port, or the end of the walk.
   */
  fromPort(node: NodeState, port: Device, bridge: Device, pkt: Packet, nextHop: string): {at: 'stack'; dev: Device} | {at: 'egress'; dev: Device} | undefined {
    const d = bridgeForwarding(node, bridge, nextHop, port)
    if (d.kind === 'up') {
      this.record(node, bridge, d, pkt, [`in by port ${port.name} (br_handle_frame)`])
      return {at: 'stack', dev: bridge}
    }
    const bridged = d.kind === 'port' && familyOf(pkt.tuple.dst) === 'ipv4'
    const nfOn = brNetfilterOn(node, bridge)
    // br_nf_pre_routing runs at NF_BR_PRE_ROUTING, before the FDB lookup, with the bridge as input device.
    if (bridged && nfOn && !this.nf.run(node, 'prerouting', pkt, {iif: bridge.name})) return undefined
    const said = [`in by port ${port.name} (br_handle_frame → br_handle_frame_finish)`, ...(bridged ? [brNetfilterSaid(node, bridge)] : [])]
    const out = this.record(node, bridge, d, pkt, said)
    if (!out) return undefined
    if (bridged && nfOn) {
      // br_nf_forward_ip and br_nf_post_routing: in- and out-device are the bridge (brnf_get_logical_dev, bridge_parent).
      if (!this.nf.run(node, 'forward', pkt, {iif: bridge.name, oif: bridge.name})) return undefined
      if (!this.nf.run(node, 'postrouting', pkt, {oif: bridge.name})) return undefined
    }
    return {at: 'egress', dev: out}
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
    this.rec.push(node, {kind: 'bridge', where, what: d.what, verdict: `${d.flooded ? 'flood' : 'forward'} to ${d.port.name}`, verdictKind: 'forward', pkt, evidence: d.evidence, details: [...said, ...d.details]})
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
