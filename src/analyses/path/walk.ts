import type {NodeState} from '../../model/node-state.js'
import {DATAPATHS, factsOf} from '../../datapaths/registry.js'
import type {Device} from '../../model/hooks.js'
import {hex} from '../../model/mark.js'
import type {Evidence, FlowSpec, PathStep, TraceOutcome} from '../../model/path.js'
import type {RouteAnswer, RouteQuery} from '../../model/routing.js'
import type {Warning} from '../../model/warning.js'
import {compact} from '../../util/compact.js'
import {familyOf, parsePrefix, prefixContains} from '../../util/ip.js'
import {bridgeOf} from './bridge-forwarding.js'
import {BridgeSteps} from './bridge-steps.js'
import {crossedNetkit, crossedVeth, crossedWire, decapsulated, forwardedToMacvlanSibling, loopedBack, redirectedToPeer} from './boundaries.js'
import {macvlanChildHolding, macvlanXmit} from './macvlan.js'
import {encapsulate} from './encapsulation.js'
import type {Packet} from './packet.js'
import {PathRecorder} from './path-recorder.js'
import {addressOn, arrivesIn, attachmentsOf, isUplink, locateSource, peerNetnsOf, uplinkOf} from './placement.js'
import {NetfilterSteps, type EvaluateHook, type NetfilterVerdict} from './netfilter-steps.js'
import {ProgramSteps} from './program-steps.js'

export type {NetfilterVerdict}

/** What the walk asks of the world: the kernel (live) or recorded tables (snapshot). */
export interface WalkDeps {
  route(node: NodeState, q: RouteQuery): Promise<RouteAnswer>
  podRoute(node: NodeState, podNetns: string, dst: string): Promise<RouteAnswer | undefined>
  netfilter?: EvaluateHook
}

export interface WalkResult {
  steps: PathStep[]
  outcome: TraceOutcome
  /** What nodeinspect could not see on this path (unknown programs, rules not recorded…). */
  unseen: string[]
  warnings: Warning[]
}

const MAX_STEPS = 60

/**
 * The walk of one flow through the nodes read: from where its source is (a pod, the node, the wire), through
 * each device's programs (program-steps.ts), netfilter at every hook (netfilter-steps.ts), the kernel's route
 * lookups, tunnels (encapsulation.ts), to a pod, a local socket, the wire or a drop. Route lookups and netfilter
 * come from `deps`.
 */
export class PathWalker {
  private readonly rec = new PathRecorder()
  private readonly programs = new ProgramSteps(this.rec, (node, dev, pkt, via) => this.deliverToPod(node, dev, pkt, via))
  private readonly nf: NetfilterSteps
  private readonly bridges: BridgeSteps

  constructor(
    private readonly nodes: NodeState[],
    private readonly flow: FlowSpec,
    private readonly deps: WalkDeps,
    /** A source on no node read arrives from the wire on this device of the first node (default: its uplink). */
    private readonly arrivesOn?: string,
  ) {
    this.nf = new NetfilterSteps(this.rec, deps.netfilter?.bind(deps))
    this.bridges = new BridgeSteps(this.rec, this.nf, (node, q) => deps.route(node, q))
  }

  async walk(): Promise<WalkResult> {
    const pkt: Packet = {tuple: compact({src: this.flow.src, dst: this.flow.dst, proto: this.flow.proto, sport: this.flow.sport, dport: this.flow.dport}), mark: this.flow.mark}
    const start = locateSource(this.nodes, this.flow.src)
    if (start.kind === 'pod') {
      await this.podSteps(start.node, start.dev, start.podNetns, pkt)
      if (this.rec.outcome) return this.finish(this.rec.outcome)
      // The pod's eth0 is a veth: the packet enters the node's netns through __dev_forward_skb2.
      for (const d of crossedVeth(pkt, true)) this.rec.note(d)
      await this.run(start.node, {at: 'ingress', dev: start.dev}, pkt)
    } else if (start.kind === 'host') {
      this.rec.note(`${this.flow.src} is an address of ${start.node.label} (${start.dev.name}): the node itself sends it`)
      await this.run(start.node, {at: 'local-out'}, pkt)
    } else {
      const node = this.nodes[0]!
      const up = node.hooks.devices.find((d) => d.name === this.arrivesOn) ?? uplinkOf(node)
      if (!up) return this.finish({kind: 'unknown', text: `${this.flow.src} is not on any node read, and ${node.label} has no uplink to receive it on`})
      this.rec.push(node, {kind: 'wire', where: {device: up.name, ifindex: up.ifindex, hook: 'wire'}, what: `${this.flow.src} is on no node read: it arrives from the wire on ${up.name}`, verdict: 'arrives', verdictKind: 'arrive', pkt, evidence: 'assumed', details: []})
      await this.run(node, {at: 'ingress', dev: up}, pkt)
    }
    return this.finish(this.rec.outcome ?? {kind: 'unknown', text: 'the walk stopped without an outcome'})
  }

  private finish(outcome: TraceOutcome): WalkResult {
    if (!this.rec.outcome) this.rec.outcome = outcome
    return {steps: this.rec.steps, outcome: this.rec.outcome, unseen: [...new Set(this.rec.unseen)], warnings: this.rec.warnings}
  }

  private async podSteps(node: NodeState, hostDev: Device, podNetns: string | undefined, pkt: Packet): Promise<void> {
    const where = {inPod: podNetns ?? `peer of ${hostDev.name}`, device: 'eth0'}
    if (!podNetns) {
      this.rec.push(node, {kind: 'pod-route', where, what: `pod ${this.flow.src} sends it (its netns has no name: its own route lookup cannot be asked)`, verdict: `leaves by its veth to ${hostDev.name}`, verdictKind: 'route', pkt, evidence: 'assumed', details: [`the pod's veth peer is ${hostDev.name} (ifindex ${hostDev.ifindex})`]})
      return
    }
    const r = await this.deps.podRoute(node, podNetns, this.flow.dst)
    if (!r || r.error) {
      this.rec.push(node, {kind: 'pod-route', where, what: `pod ${this.flow.src} in netns ${podNetns}: route lookup for ${this.flow.dst}${r?.error ? ` failed: ${r.error}` : ' not available'}`, verdict: r?.error ? 'no route' : `leaves by its veth to ${hostDev.name}`, verdictKind: r?.error ? 'no-route' : 'route', pkt, evidence: r ? r.evidence : 'assumed', details: r ? [r.detail] : []})
      if (r?.error) this.rec.end('black-hole', `the pod has no route to ${this.flow.dst}: ${r.error}`)
      return
    }
    this.podNextHop = r.gateway ?? this.flow.dst
    this.rec.push(node, {
      kind: 'pod-route',
      where: {...where, device: r.dev ?? 'eth0'},
      what: `pod ${this.flow.src} (netns ${podNetns}): ${this.flow.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev ?? '?'}${r.prefsrc ? ` src ${r.prefsrc}` : ''}`,
      verdict: `sent on the pod's ${r.dev ?? 'eth0'}; appears on ${hostDev.name} (ifindex ${hostDev.ifindex})`,
      verdictKind: 'route',
      pkt,
      evidence: r.evidence,
      details: [r.detail],
    })
  }

  private async run(node: NodeState, at: {at: 'ingress'; dev: Device} | {at: 'egress'; dev: Device; viaRedirect?: boolean} | {at: 'local-out'} | {at: 'stack'; dev: Device; preroutingDone?: true}, pkt: Packet): Promise<void> {
    let cur: typeof at | undefined = at
    let curNode = node
    while (cur && !this.rec.outcome && this.rec.steps.length < MAX_STEPS) {
      if (cur.at === 'ingress') {
        cur = await this.ingress(curNode, cur.dev, pkt)
      } else if (cur.at === 'stack') {
        cur = await this.stack(curNode, cur.dev, pkt, cur.preroutingDone)
      } else if (cur.at === 'local-out') {
        cur = await this.localOut(curNode, pkt)
      } else {
        const r = await this.egress(curNode, cur.dev, pkt)
        if (r && 'node' in r) {
          curNode = r.node
          cur = r.transmit ? {at: 'egress', dev: r.dev} : {at: 'ingress', dev: r.dev}
        } else cur = r
      }
    }
    if (this.rec.steps.length >= MAX_STEPS) this.rec.end('unknown', `stopped after ${MAX_STEPS} steps (a loop?)`)
  }

  /** Programs on a device's receive path, in kernel order; then the stack, unless one redirected. */
  private async ingress(node: NodeState, dev: Device, pkt: Packet): Promise<{at: 'egress'; dev: Device; viaRedirect?: true} | {at: 'stack'; dev: Device; preroutingDone?: true} | undefined> {
    for (const a of attachmentsOf(node, dev, 'ingress')) {
      const r = this.programs.run(node, dev, a, pkt)
      if (r.next === 'drop') {
        this.rec.end('dropped', `dropped by ${r.label}`)
        return undefined
      }
      if (r.next === 'deliver') return undefined
      if (r.next && typeof r.next === 'object') return {at: 'egress', dev: r.next, viaRedirect: true}
    }
    // A bridge port's rx_handler (br_handle_frame) takes the frame before the stack sees it (kn-15).
    const br = bridgeOf(node, dev)
    if (br) {
      // The frame's destination MAC is its L3 next hop's: the pod's gateway, or the destination itself.
      const nextHop = this.podNextHop ?? (pkt.outer ?? pkt.tuple).dst
      this.podNextHop = undefined
      return this.bridges.fromPort(node, dev, br, pkt, nextHop)
    }
    return {at: 'stack', dev}
  }

  /** The pod's own route's next hop (its gateway, or the destination on-link), for the first bridge it meets. */
  private podNextHop: string | undefined

  /** The kernel stack for a received packet: PREROUTING, the route lookup, then INPUT (local) or FORWARD+POSTROUTING. */
  private async stack(node: NodeState, dev: Device, pkt: Packet, preroutingDone?: true): Promise<{at: 'egress'; dev: Device} | {at: 'ingress'; dev: Device} | undefined> {
    // A frame br_netfilter passed up after a DNAT crossed PREROUTING on the bridge already (ip_sabotage_in, kn-25).
    if (!preroutingDone && !this.nf.run(node, 'prerouting', pkt, {iif: dev.name})) return undefined
    // After PREROUTING: a DNAT there has changed the destination the route lookup sees.
    const t = pkt.outer ?? pkt.tuple
    const q: RouteQuery = {family: familyOf(t.dst) ?? this.flow.family, dst: t.dst, src: t.src, iif: dev.name, mark: pkt.mark}
    const route = await this.deps.route(node, q)
    const local = route.type === 'local' || node.hooks.devices.some((d) => d.addresses.some((x) => x.local === t.dst))
    if (local) {
      this.rec.push(node, {kind: 'routing', where: {device: dev.name, hook: 'routing (input)'}, what: `${t.dst} is local: delivered to this node`, verdict: 'local', verdictKind: 'local', pkt, evidence: route.type === 'local' ? route.evidence : 'kernel', details: [route.type === 'local' ? route.detail : `${t.dst} is an address of this node (ip addr)`]})
      if (!this.nf.run(node, 'input', pkt, {iif: dev.name})) return undefined
      // VXLAN: the outer UDP datagram to the device's port is decapsulated onto that vxlan device.
      const vx = node.hooks.devices.find((d) => d.kind === 'vxlan' && d.vxlan?.port !== undefined && t.proto === 'udp' && t.dport === d.vxlan.port)
      const decap = vx ? decapsulated(pkt, vx.vxlan?.underlayNetnsId !== undefined) : undefined
      if (vx && decap) {
        const {outer, said} = decap
        this.rec.push(node, {kind: 'decap', where: {device: vx.name, ifindex: vx.ifindex, hook: 'vxlan'}, what: `UDP ${outer.dport} from ${outer.src} decapsulated by ${vx.name}${outer.vni !== undefined ? ` (VNI ${outer.vni})` : ''}`, verdict: `inner packet received on ${vx.name}`, verdictKind: 'decapsulate', pkt, evidence: 'kernel', details: [`${vx.name} listens on UDP port ${vx.vxlan!.port} (ip -d link)`, ...said]})
        return {at: 'ingress', dev: vx}
      }
      this.rec.end('local', `delivered to a local socket on ${node.label} (${t.dst}${t.dport ? `:${t.dport}` : ''})`)
      return undefined
    }
    if (route.error || !route.dev || ['blackhole', 'unreachable', 'prohibit'].includes(route.type)) {
      this.rec.push(node, {kind: 'routing', where: {device: dev.name, hook: 'routing (forward)'}, what: `route lookup for ${t.dst} from ${t.src} iif ${dev.name}${pkt.mark ? ` mark ${hex(pkt.mark)}` : ''}: ${route.error ?? route.type}`, verdict: route.type === 'blackhole' ? 'black hole' : 'no route', verdictKind: route.type === 'blackhole' ? 'black-hole' : 'no-route', pkt, evidence: route.evidence, details: [route.detail]})
      this.rec.end(route.type === 'blackhole' ? 'black-hole' : 'dropped', `no route for ${t.dst} on ${node.label}: ${route.error ?? route.type}`)
      return undefined
    }
    const out = node.hooks.devices.find((d) => d.name === route.dev)
    this.rec.push(node, {kind: 'routing', where: {device: dev.name, hook: 'routing (forward)'}, what: `${t.dst}${route.gateway ? ` via ${route.gateway}` : ''} dev ${route.dev}${route.table && route.table !== 'main' ? ` table ${route.table}` : ''}`, verdict: `forward to ${route.dev}`, verdictKind: 'route', pkt, evidence: route.evidence, details: [route.detail]})
    if (!out) {
      this.rec.end('unknown', `route names device ${route.dev}, which was not read`)
      return undefined
    }
    if (!this.nf.run(node, 'forward', pkt, {iif: dev.name, oif: out.name})) return undefined
    if (!this.nf.run(node, 'postrouting', pkt, {oif: out.name}, route.prefsrc ?? addressOn(out, t.dst))) return undefined
    this.gateway = route.gateway
    return {at: 'egress', dev: out}
  }

  private gateway: string | undefined

  /** A packet the node itself sends (or a tunnel's outer packet): route, OUTPUT, POSTROUTING. */
  private async localOut(node: NodeState, pkt: Packet): Promise<{at: 'egress'; dev: Device} | undefined> {
    const t = pkt.outer ?? pkt.tuple
    const q: RouteQuery = {family: familyOf(t.dst) ?? this.flow.family, dst: t.dst, ...(t.src ? {src: t.src} : {}), mark: pkt.mark}
    let route = await this.deps.route(node, q)
    let evidence: Evidence = route.evidence
    if ((route.error || !route.dev) && node.hooks.devices.some((d) => d.addresses.some((a) => a.local === t.dst))) {
      // Not recorded: every address of the node has a route in table local (fib_add_ifaddr), dev lo.
      route = {type: 'local', dev: 'lo', evidence: 'rule', detail: `${route.detail}; ${t.dst} is an address of this node: its route in table local (routes not recorded, assumed)`}
      evidence = 'assumed'
    } else if (route.error || !route.dev) {
      // Not recorded: a connected subnet holding the destination is the kernel's own choice.
      const conn = node.hooks.devices.find((d) => d.addresses.some((a) => a.family === (q.family === 'ipv4' ? 'inet' : 'inet6') && a.prefixlen < (q.family === 'ipv4' ? 32 : 128) && prefixContains(parsePrefix(`${a.local}/${a.prefixlen}`, q.family)!, t.dst)))
      if (!conn) {
        this.rec.push(node, {kind: 'routing', where: {hook: 'routing (output)'}, what: `route lookup for ${t.dst}: ${route.error ?? 'no device'}`, verdict: 'no route', verdictKind: 'no-route', pkt, evidence: route.evidence, details: [route.detail]})
        this.rec.end('dropped', `no route for ${t.dst} on ${node.label}`)
        return undefined
      }
      const a = conn.addresses.find((x) => prefixContains(parsePrefix(`${x.local}/${x.prefixlen}`, q.family)!, t.dst))!
      route = {type: 'unicast', dev: conn.name, prefsrc: a.local, evidence: 'rule', detail: `${route.detail}; ${t.dst} is in ${a.local}/${a.prefixlen} on ${conn.name}: its connected route (routes not recorded, assumed)`}
      evidence = 'assumed'
    }
    if (route.type === 'local') {
      // Sent to one of the node's own addresses: OUTPUT, POSTROUTING, loopback_xmit, PREROUTING, INPUT; never a wire.
      const lo = route.dev ?? 'lo'
      this.rec.push(node, {kind: 'routing', where: {hook: 'routing (output)'}, what: `${t.dst} is local: looped back on ${lo}`, verdict: 'local', verdictKind: 'local', pkt, evidence, details: [route.detail, ...loopedBack(pkt)]})
      if (!this.nf.run(node, 'output', pkt, {oif: lo})) return undefined
      if (!this.nf.run(node, 'postrouting', pkt, {oif: lo})) return undefined
      if (!this.nf.run(node, 'prerouting', pkt, {iif: lo})) return undefined
      if (!this.nf.run(node, 'input', pkt, {iif: lo})) return undefined
      this.rec.end('local', `delivered to a local socket on ${node.label} (${t.dst}${t.dport ? `:${t.dport}` : ''})`)
      return undefined
    }
    this.rec.push(node, {kind: 'routing', where: {hook: 'routing (output)'}, what: `${t.dst}${route.gateway ? ` via ${route.gateway}` : ''} dev ${route.dev}${route.prefsrc ? ` src ${route.prefsrc}` : ''}`, verdict: `out ${route.dev}`, verdictKind: 'route', pkt, evidence, details: [route.detail]})
    const out = node.hooks.devices.find((d) => d.name === route.dev)
    if (!out) {
      this.rec.end('unknown', `route names device ${route.dev}, which was not read`)
      return undefined
    }
    if (!this.nf.run(node, 'output', pkt, {oif: out.name})) return undefined
    if (!this.nf.run(node, 'postrouting', pkt, {oif: out.name}, route.prefsrc ?? addressOn(out, t.dst))) return undefined
    this.gateway = route.gateway
    return {at: 'egress', dev: out}
  }

  /** A device's transmit path: its egress programs, then what the device does (pod, tunnel, wire). */
  private async egress(node: NodeState, dev: Device, pkt: Packet): Promise<{at: 'local-out'} | {at: 'egress'; dev: Device} | {node: NodeState; dev: Device; transmit?: true} | undefined> {
    for (const a of attachmentsOf(node, dev, 'egress')) {
      const r = this.programs.run(node, dev, a, pkt)
      if (r.next === 'drop') {
        this.rec.end('dropped', `dropped by ${r.label}`)
        return undefined
      }
      if (r.next === 'deliver') return undefined
      if (r.next && typeof r.next === 'object') return {at: 'egress', dev: r.next}
    }
    // A bridge: the port its FDB names for the next hop's MAC, or a flood (kn-15).
    if (dev.kind === 'bridge') {
      const port = this.bridges.fromRoute(node, dev, pkt, this.gateway ?? (pkt.outer ?? pkt.tuple).dst)
      return port ? {at: 'egress', dev: port} : undefined
    }
    if (dev.kind === 'macvlan' && dev.macvlan) return this.macvlan(node, dev, pkt)
    // A pod's veth: the packet is received in the pod.
    if ((dev.kind === 'veth' || dev.kind === 'netkit') && dev.peer && !dev.peer.sameNetns && !isUplink(node, dev) && this.isPodDelivery(node, dev, pkt)) {
      this.deliverToPod(node, dev, pkt)
      return undefined
    }
    if (dev.kind === 'vxlan' || dev.kind === 'geneve') {
      if (!encapsulate(this.rec, this.nodes, node, dev, pkt, this.gateway)) return undefined
      this.gateway = undefined
      return {at: 'local-out'}
    }
    // The wire: the next node is the one holding the next hop (or the destination) address.
    const t = pkt.outer ?? pkt.tuple
    const nextHop = this.gateway ?? t.dst
    for (const other of this.nodes) {
      if (other === node) continue
      const d = other.hooks.devices.find((x) => x.addresses.some((a) => a.local === nextHop || a.local === t.dst))
      // A macvlan child of this very device: what the lower device sends goes to its wire, never to its macvlans (kn-26).
      const child = d ? macvlanChildHolding(this.nodes, node, dev, d.addresses.some((a) => a.local === nextHop) ? nextHop : t.dst) : undefined
      if (d && child) {
        const said = this.leaveBy(dev, pkt)
        const text = `leaves ${node.label} on ${dev.name} towards ${nextHop}; it never reaches ${child.dev.name} in netns ${child.node.label}, a macvlan of ${dev.name}: what a lower device transmits goes to its wire, not to its macvlans`
        this.rec.push(node, {kind: 'wire', where: {device: dev.name, ifindex: dev.ifindex, hook: 'wire'}, what: `leaves ${node.label} on ${dev.name} for ${nextHop}`, verdict: 'leaves the node', verdictKind: 'leave', pkt, evidence: 'kernel', details: [`${nextHop} is an address of ${child.node.label}'s ${child.dev.name}, a macvlan whose lower device is ${dev.name}`, `a macvlan receives only what its lower device receives (macvlan_handle_frame is the lower device's rx_handler); a frame transmitted on ${dev.name} goes to its wire (dev_queue_xmit), never to its macvlans: a macvlan and its lower device cannot talk directly`, ...said]})
        this.rec.end('left-node', text)
        return undefined
      }
      if (d) {
        const said = this.leaveBy(dev, pkt)
        this.rec.push(node, {kind: 'wire', where: {device: dev.name, ifindex: dev.ifindex, hook: 'wire'}, what: `leaves ${node.label} on ${dev.name} for ${nextHop}`, verdict: `to ${other.label} ${d.name}`, verdictKind: 'leave', pkt, evidence: 'kernel', details: [`${nextHop} is an address of ${other.label}'s ${d.name}`, ...said]})
        this.gateway = undefined
        return {node: other, dev: d}
      }
    }
    const arrives = arrivesIn(node, dev)
    const into = arrives ? ` into ${arrives.name}` : ''
    const said = this.leaveBy(dev, pkt)
    const details = [...(arrives ? [arrives.how] : []), ...(this.nodes.length > 1 ? [`no node read holds ${nextHop}`] : ['give the receiving node too (--snapshot n2.json or --netns) to follow it there']), ...said]
    this.rec.push(node, {kind: 'wire', where: {device: dev.name, ifindex: dev.ifindex, hook: 'wire'}, what: `leaves ${node.label} on ${dev.name}${into} towards ${nextHop}`, verdict: 'leaves the node', verdictKind: 'leave', pkt, evidence: 'kernel', details})
    this.rec.end('left-node', `leaves ${node.label} on ${dev.name}${into} towards ${nextHop}`)
    return undefined
  }

  /**
   * A packet sent on a macvlan device: to a sibling macvlan directly (bridge mode; it continues there, in the sibling's
   * netns), or transmitted on the lower device (macvlan.ts, kn-26).
   */
  private macvlan(node: NodeState, dev: Device, pkt: Packet): {node: NodeState; dev: Device; transmit?: true} | {at: 'egress'; dev: Device} | undefined {
    const nextHop = this.gateway ?? (pkt.outer ?? pkt.tuple).dst
    const d = macvlanXmit(this.nodes, node, dev, nextHop)
    const where = {device: dev.name, ifindex: dev.ifindex, hook: 'macvlan'}
    if (d.kind === 'unknown') {
      this.rec.push(node, {kind: 'macvlan', where, what: d.what, verdict: 'unknown', verdictKind: 'unknown', pkt, evidence: 'assumed', details: d.details})
      this.rec.end('unknown', d.what)
      return undefined
    }
    const lowerHooks = d.lower ? attachmentsOf(d.lower.node, d.lower.dev, d.kind === 'sibling' ? 'ingress' : 'egress') : []
    const lowerSaid = lowerHooks.length ? [`${d.lower!.dev.name} has ${lowerHooks.length} program(s) on its ${d.kind === 'sibling' ? 'receive' : 'transmit'} path, which the frame crosses: not followed here`] : []
    if (lowerHooks.length) this.rec.unseen.push(`${d.lower!.node.label}: programs on ${d.lower!.dev.name} (the macvlan's lower device) not followed`)
    if (d.kind === 'sibling') {
      this.rec.push(node, {kind: 'macvlan', where, what: d.what, verdict: `to ${d.dev.name} in netns ${d.node.label}`, verdictKind: 'forward', pkt, evidence: 'kernel', details: [...d.details, ...lowerSaid, ...forwardedToMacvlanSibling(pkt, d.xnet)]})
      this.gateway = undefined
      return {node: d.node, dev: d.dev}
    }
    this.rec.push(node, {kind: 'macvlan', where, what: d.what, verdict: `out ${d.lower?.dev.name ?? 'the lower device'}`, verdictKind: 'pass', pkt, evidence: 'kernel', details: [...d.details, ...lowerSaid]})
    if (!d.lower) {
      this.rec.end('left-node', `leaves by ${dev.name}'s lower device (not read) towards ${nextHop}`)
      return undefined
    }
    // The lower device transmits it: on this node, or on the node (netns) that holds it.
    return d.lower.node === node ? {at: 'egress', dev: d.lower.dev} : {node: d.lower.node, dev: d.lower.dev, transmit: true}
  }

  /**
   * Whether a packet sent on a veth into another netns is delivered to a pod there, rather than leaving the node
   * for a host, router or VM behind it: never a tunnel's outer packet nor one sent to a gateway; the peer netns
   * holds the destination where it was read; else a datapath's endpoint or a host route for it names the device.
   */
  private isPodDelivery(node: NodeState, dev: Device, pkt: Packet): boolean {
    if (pkt.outer || this.gateway) return false
    const dst = pkt.tuple.dst
    const ns = peerNetnsOf(node, dev)
    const read = ns ? node.netnsDevices.get(ns) : undefined
    if (read) return read.some((d) => d.addresses.some((a) => a.local === dst))
    if (DATAPATHS.some((p) => p.endpointOf(factsOf(p, node.datapaths), dst)?.ifindex === dev.ifindex)) return true
    return node.hooks.routes.some((r) => r.dev === dev.name && (r.dst === dst || r.dst === `${dst}/32` || r.dst === `${dst}/128`))
  }

  /** The packet leaves the node's netns: by a veth into its peer's netns (kn-13), or on a wire (kn-14). */
  private leaveBy(dev: Device, pkt: Packet): string[] {
    if (!dev.peer || dev.peer.sameNetns) return crossedWire(pkt)
    return dev.kind === 'netkit' ? crossedNetkit(pkt, true) : dev.kind === 'veth' ? crossedVeth(pkt, true) : crossedWire(pkt)
  }

  /** `via`: how the packet crosses into the pod's netns: sent on the veth (or redirected to its egress), or bpf_redirect_peer. */
  private deliverToPod(node: NodeState, dev: Device, pkt: Packet, via: 'veth' | 'peer' = 'veth'): void {
    const ns = peerNetnsOf(node, dev)
    const podDevs = ns ? node.netnsDevices.get(ns) : undefined
    const owns = podDevs?.some((d) => d.addresses.some((a) => a.local === pkt.tuple.dst))
    const ep = DATAPATHS.map((p) => p.endpointOf(factsOf(p, node.datapaths), pkt.tuple.dst)).find((e) => e?.ifindex === dev.ifindex)
    const details = [ns ? `peer ifindex ${dev.peer?.ifindex ?? '?'} in netns ${ns}` : `peer ifindex ${dev.peer?.ifindex ?? '?'} in another netns`]
    if (owns) details.push(`${pkt.tuple.dst} is an address of that netns (its own addresses, read inside it)`)
    if (ep) details.push(ep.detail)
    const peerName = podDevs?.find((d) => d.ifindex === dev.peer?.ifindex)?.name ?? 'the peer device'
    // A frame a VLAN-filtering bridge sent tagged reaches a netns with no VLAN device for it: __netif_receive_skb_core
    // finds none (vlan_do_receive), marks it PACKET_OTHERHOST and ip_rcv drops it (kn-23).
    // A source address the receiving netns holds itself (a hairpinned frame not SNATed): ip_route_input → fib_validate_source
    // rejects it as a martian source unless accept_local is set (not read: its default, 0, assumed). kn-24.
    if (pkt.tuple.src && podDevs?.some((d) => d.addresses.some((a) => a.local === pkt.tuple.src))) {
      const what = `the packet arrives in ${ns ?? 'the pod'} with source ${pkt.tuple.src}, one of that netns's own addresses: dropped as a martian source (fib_validate_source; accept_local assumed 0)`
      this.rec.push(node, {kind: 'deliver', where: {device: dev.name, ifindex: dev.ifindex, inPod: ns}, what, verdict: 'DROP', verdictKind: 'drop', pkt, evidence: 'assumed', details: [...details, 'a hairpinned connection needs its source NATed (SNAT/MASQUERADE at POSTROUTING) to reach the pod it came from']})
      this.rec.end('dropped', what)
      return
    }
    if (pkt.vlanTag !== undefined && podDevs && !podDevs.some((d) => d.kind === 'vlan')) {
      const what = `the frame arrives on ${peerName}${ns ? ` in netns ${ns}` : ''} tagged VLAN ${pkt.vlanTag}, and no VLAN device there takes it: dropped (vlan_do_receive finds none → PACKET_OTHERHOST → ip_rcv)`
      this.rec.push(node, {kind: 'deliver', where: {device: dev.name, ifindex: dev.ifindex, inPod: ns}, what, verdict: 'DROP', verdictKind: 'drop', pkt, evidence: 'kernel', details})
      this.rec.end('dropped', what)
      return
    }
    // Into the pod's netns through the pair (a netkit's scrub mode is not read: its default, scrub, is assumed).
    details.push(...(via === 'peer' ? redirectedToPeer(pkt) : dev.kind === 'netkit' ? crossedNetkit(pkt, true) : crossedVeth(pkt, true)))
    this.rec.push(node, {kind: 'deliver', where: {device: dev.name, ifindex: dev.ifindex, inPod: ns}, what: `delivered through ${dev.name} to ${peerName}${dev.peer?.ifindex !== undefined ? ` (ifindex ${dev.peer.ifindex})` : ''}${ns ? ` in netns ${ns}` : ''}: ${pkt.tuple.dst}${pkt.tuple.dport ? `:${pkt.tuple.dport}` : ''}`, verdict: 'deliver', verdictKind: 'deliver', pkt, evidence: owns || ep ? 'kernel' : 'assumed', details})
    this.rec.end('delivered', `reaches ${pkt.tuple.dst}${pkt.tuple.dport ? `:${pkt.tuple.dport}` : ''} in ${ns ?? 'the pod'} on ${node.label}`)
  }
}
