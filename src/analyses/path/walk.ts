import type {NodeFacts} from '../../collect/trace-inputs.js'
import {recogniseAttachment} from '../../knowledge/programs.js'
import type {Device, HookAttachment} from '../../model/hooks.js'
import {applyMarkOp, hex, type MarkOp} from '../../model/mark.js'
import type {Hook} from '../../model/netfilter.js'
import type {Evidence, FlowSpec, OutcomeKind, PathStep, StepKind, StepProgram, StepRule, TraceOutcome, Tuple} from '../../model/path.js'
import {lookupIpcache, type CiliumEndpoint} from '../../probes/cilium-maps.js'
import type {Warning} from '../../model/warning.js'
import {familyOf, parsePrefix, prefixContains} from '../../util/ip.js'
import {compact} from '../../util/compact.js'
import type {ProgramSummary, MarkWrite} from '../../bpf/program-summary.js'
import type {RouteAnswer, RouteQuery} from '../../model/routing.js'

/** Netfilter at one hook, as the evaluator (analyses/netfilter-eval) answers it. */
export interface NetfilterVerdict {
  verdict: 'accept' | 'drop' | 'reject' | 'queue' | 'unknown'
  tuple: Tuple
  mark: number
  ctmark: number
  /** What conntrack now knows of the connection (NAT bound, untracked), carried to the next hook. */
  ct?: ConntrackState
  rules: StepRule[]
  nat?: string
  branches: string[]
  unknowns: string[]
  /** Assumptions that hold for the whole hook (conntrack state NEW, …). */
  notes?: string[]
}

/** What the walk asks of the world: the kernel (live) or recorded tables (snapshot). */
export interface WalkDeps {
  route(node: NodeFacts, q: RouteQuery): Promise<RouteAnswer>
  podRoute(node: NodeFacts, podNetns: string, dst: string): Promise<RouteAnswer | undefined>
  netfilter?(node: NodeFacts, hook: Hook, pkt: {tuple: Tuple; mark: number; ctmark: number; ct?: ConntrackState; iif?: string; oif?: string}, masqueradeAddress?: string): NetfilterVerdict | undefined
}

export interface WalkResult {
  steps: PathStep[]
  outcome: TraceOutcome
  /** What nodeinspect could not see on this path (unknown programs, rules not recorded…). */
  unseen: string[]
  warnings: Warning[]
}

export interface ConntrackState {
  dnat?: boolean
  snat?: boolean
  untracked?: boolean
}

interface Packet {
  tuple: Tuple
  outer?: Tuple & {vni?: number}
  mark: number
  ctmark: number
  ct?: ConntrackState
}

const MAX_STEPS = 60
/** The kernel stops tail-call chains at 33 (MAX_TAIL_CALL_CNT). */
const MAX_TAIL_CALLS = 33

const HOOK_ORDER: Record<string, number> = {xdp: 0, 'tcx-ingress': 1, 'tc-ingress': 2, 'tcx-egress': 3, 'tc-egress': 4}

export class PathWalker {
  private steps: PathStep[] = []
  private unseen: string[] = []
  private warnings: Warning[] = []
  private outcome?: TraceOutcome

  constructor(
    private readonly nodes: NodeFacts[],
    private readonly flow: FlowSpec,
    private readonly deps: WalkDeps,
  ) {}

  async walk(): Promise<WalkResult> {
    const pkt: Packet = {tuple: compact({src: this.flow.src, dst: this.flow.dst, proto: this.flow.proto, sport: this.flow.sport, dport: this.flow.dport}), mark: this.flow.mark, ctmark: 0}
    const start = this.locateSource()
    if (start.kind === 'pod') {
      await this.podSteps(start.node, start.dev, start.podNetns, pkt)
      await this.run(start.node, {at: 'ingress', dev: start.dev}, pkt)
    } else if (start.kind === 'host') {
      this.note(`${this.flow.src} is an address of ${start.node.label} (${start.dev.name}): the node itself sends it`)
      await this.run(start.node, {at: 'local-out'}, pkt)
    } else {
      const node = this.nodes[0]!
      const up = this.uplinkOf(node)
      if (!up) return this.finish({kind: 'unknown', text: `${this.flow.src} is not on any node read, and ${node.label} has no uplink to receive it on`})
      this.push(node, {kind: 'wire', where: {device: up.name, ifindex: up.ifindex, hook: 'wire'}, what: `${this.flow.src} is on no node read: it arrives from the wire on ${up.name}`, verdict: 'arrives', pkt, evidence: 'assumed', details: []})
      await this.run(node, {at: 'ingress', dev: up}, pkt)
    }
    return this.finish(this.outcome ?? {kind: 'unknown', text: 'the walk stopped without an outcome'})
  }

  private finish(outcome: TraceOutcome): WalkResult {
    if (!this.outcome) this.outcome = outcome
    return {steps: this.steps, outcome: this.outcome, unseen: [...new Set(this.unseen)], warnings: this.warnings}
  }

  private end(kind: OutcomeKind, text: string): void {
    if (!this.outcome) this.outcome = compact({kind, step: this.steps.length ? this.steps[this.steps.length - 1]!.n : undefined, text})
  }

  private note(s: string): void {
    const last = this.steps[this.steps.length - 1]
    if (last) last.details.push(s)
  }

  private push(node: NodeFacts, s: {kind: StepKind; where: PathStep['where']; what: string; verdict: string; pkt: Packet; evidence: Evidence; details: string[]; program?: StepProgram; rules?: StepRule[]; branches?: string[]}): PathStep {
    const step: PathStep = compact({
      n: this.steps.length + 1,
      node: node.label,
      netns: node.meta.netns,
      where: compact({...s.where}),
      kind: s.kind,
      what: s.what,
      program: s.program,
      rules: s.rules && s.rules.length ? s.rules : undefined,
      verdict: s.verdict,
      tuple: {...s.pkt.tuple},
      outer: s.pkt.outer ? {...s.pkt.outer} : undefined,
      mark: s.pkt.mark >>> 0,
      evidence: s.evidence,
      details: s.details,
      branches: s.branches && s.branches.length ? s.branches : undefined,
    })
    this.steps.push(step)
    return step
  }

  // ------------------------------------------------------------------ where the flow starts

  private locateSource(): {kind: 'pod'; node: NodeFacts; dev: Device; podNetns?: string} | {kind: 'host'; node: NodeFacts; dev: Device} | {kind: 'wire'} {
    const src = this.flow.src
    for (const node of this.nodes) {
      const dev = this.podDeviceFor(node, src)
      if (dev) return {kind: 'pod', node, dev: dev.dev, ...(dev.netns ? {podNetns: dev.netns} : {})}
    }
    for (const node of this.nodes) {
      const d = node.hooks.devices.find((x) => x.addresses.some((a) => a.local === src))
      if (d) return {kind: 'host', node, dev: d}
    }
    return {kind: 'wire'}
  }

  /** The host-side device of the pod that owns `ip`: Cilium's endpoint map, a host route, or the pod's own addresses. */
  private podDeviceFor(node: NodeFacts, ip: string): {dev: Device; netns?: string; how: string} | undefined {
    const devs = node.hooks.devices
    const netnsOf = (d: Device) => d.peer?.netns ?? (d.peer?.netnsId !== undefined ? node.hooks.netnsNames.get(d.peer.netnsId) : undefined)
    const ep = node.cilium.endpoints.find((e) => e.ip === ip && !e.isHost)
    if (ep) {
      const d = devs.find((x) => x.ifindex === ep.ifindex)
      if (d) return {dev: d, netns: netnsOf(d), how: `cilium_lxc: endpoint ${ep.endpointId}, ifindex ${ep.ifindex}`}
    }
    for (const r of node.hooks.routes) {
      if (r.dst !== ip && r.dst !== `${ip}/32` && r.dst !== `${ip}/128`) continue
      const d = devs.find((x) => x.name === r.dev && (x.kind === 'veth' || x.kind === 'netkit') && x.peer && !x.peer.sameNetns)
      if (d) return {dev: d, netns: netnsOf(d), how: `host route ${r.dst} dev ${r.dev}`}
    }
    for (const [ns, nsDevs] of node.netnsDevices) {
      const owner = nsDevs.find((x) => x.addresses.some((a) => a.local === ip))
      if (!owner) continue
      const d = devs.find((x) => netnsOf(x) === ns && (x.peer?.ifindex === undefined || x.peer.ifindex === owner.ifindex))
      if (d) return {dev: d, netns: ns, how: `pod netns ${ns} holds ${ip} on ${owner.name}`}
    }
    return undefined
  }

  private uplinkOf(node: NodeFacts): Device | undefined {
    const vx = node.hooks.devices.find((d) => d.vxlan?.dev)
    if (vx) return node.hooks.devices.find((d) => d.name === vx.vxlan!.dev)
    const def = node.hooks.routes.find((r) => r.dst === 'default' && r.dev)
    if (def) return node.hooks.devices.find((d) => d.name === def.dev)
    return node.hooks.devices.find((d) => d.kind === 'physical' || (d.kind === 'veth' && d.name.startsWith('eth')))
  }

  private async podSteps(node: NodeFacts, hostDev: Device, podNetns: string | undefined, pkt: Packet): Promise<void> {
    const where = {inPod: podNetns ?? `peer of ${hostDev.name}`, device: 'eth0'}
    if (!podNetns) {
      this.push(node, {kind: 'pod-route', where, what: `pod ${this.flow.src} sends it (its netns has no name: its own route lookup cannot be asked)`, verdict: `leaves by its veth to ${hostDev.name}`, pkt, evidence: 'assumed', details: [`the pod's veth peer is ${hostDev.name} (ifindex ${hostDev.ifindex})`]})
      return
    }
    const r = await this.deps.podRoute(node, podNetns, this.flow.dst)
    if (!r || r.error) {
      this.push(node, {kind: 'pod-route', where, what: `pod ${this.flow.src} in netns ${podNetns}: route lookup for ${this.flow.dst}${r?.error ? ` failed: ${r.error}` : ' not available'}`, verdict: r?.error ? 'no route' : `leaves by its veth to ${hostDev.name}`, pkt, evidence: r ? r.evidence : 'assumed', details: r ? [r.detail] : []})
      if (r?.error) this.end('black-hole', `the pod has no route to ${this.flow.dst}: ${r.error}`)
      return
    }
    this.push(node, {
      kind: 'pod-route',
      where: {...where, device: r.dev ?? 'eth0'},
      what: `pod ${this.flow.src} (netns ${podNetns}): ${this.flow.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev ?? '?'}${r.prefsrc ? ` src ${r.prefsrc}` : ''}`,
      verdict: `sent on the pod's ${r.dev ?? 'eth0'}; appears on ${hostDev.name} (ifindex ${hostDev.ifindex})`,
      pkt,
      evidence: r.evidence,
      details: [r.detail],
    })
  }

  // ------------------------------------------------------------------ the walk proper

  private async run(node: NodeFacts, at: {at: 'ingress'; dev: Device} | {at: 'egress'; dev: Device; viaRedirect?: boolean} | {at: 'local-out'} | {at: 'stack'; dev: Device}, pkt: Packet): Promise<void> {
    let cur: typeof at | undefined = at
    let curNode = node
    while (cur && !this.outcome && this.steps.length < MAX_STEPS) {
      if (cur.at === 'ingress') {
        const r = await this.ingress(curNode, cur.dev, pkt)
        cur = r
      } else if (cur.at === 'stack') {
        cur = await this.stack(curNode, cur.dev, pkt)
      } else if (cur.at === 'local-out') {
        cur = await this.localOut(curNode, pkt)
      } else {
        const r = await this.egress(curNode, cur.dev, pkt)
        if (r && 'node' in r) {
          curNode = r.node
          cur = {at: 'ingress', dev: r.dev}
        } else cur = r
      }
    }
    if (this.steps.length >= MAX_STEPS) this.end('unknown', `stopped after ${MAX_STEPS} steps (a loop?)`)
  }

  private attachmentsOf(node: NodeFacts, dev: Device, dir: 'ingress' | 'egress'): HookAttachment[] {
    const hooks = dir === 'ingress' ? ['xdp', 'tcx-ingress', 'tc-ingress'] : ['tcx-egress', 'tc-egress']
    return node.attachments
      .filter((a) => a.ifindex === dev.ifindex && hooks.includes(a.hook))
      .sort((a, b) => (HOOK_ORDER[a.hook] ?? 9) - (HOOK_ORDER[b.hook] ?? 9) || (a.tcx?.position ?? 0) - (b.tcx?.position ?? 0) || (a.tc?.pref ?? 0) - (b.tc?.pref ?? 0))
  }

  /** Programs on a device's receive path, in kernel order; then the stack, unless one redirected. */
  private async ingress(node: NodeFacts, dev: Device, pkt: Packet): Promise<{at: 'egress'; dev: Device; viaRedirect: true} | {at: 'stack'; dev: Device} | undefined> {
    for (const a of this.attachmentsOf(node, dev, 'ingress')) {
      const r = await this.program(node, dev, a, pkt)
      if (r.next === 'drop') {
        this.end('dropped', `dropped by ${r.label}`)
        return undefined
      }
      if (r.next === 'deliver') return undefined
      if (r.next && typeof r.next === 'object') return {at: 'egress', dev: r.next, viaRedirect: true}
    }
    return {at: 'stack', dev}
  }

  /** The kernel stack for a received packet: PREROUTING, the route lookup, then INPUT (local) or FORWARD+POSTROUTING. */
  private async stack(node: NodeFacts, dev: Device, pkt: Packet): Promise<{at: 'egress'; dev: Device} | {at: 'ingress'; dev: Device} | undefined> {
    if (!this.netfilter(node, 'prerouting', pkt, {iif: dev.name})) return undefined
    // After PREROUTING: a DNAT there has changed the destination the route lookup sees.
    const t = pkt.outer ?? pkt.tuple
    const q: RouteQuery = {family: familyOf(t.dst) ?? this.flow.family, dst: t.dst, src: t.src, iif: dev.name, mark: pkt.mark}
    const route = await this.deps.route(node, q)
    const local = route.type === 'local' || node.hooks.devices.some((d) => d.addresses.some((x) => x.local === t.dst))
    if (local) {
      this.push(node, {kind: 'routing', where: {device: dev.name, hook: 'routing (input)'}, what: `${t.dst} is local: delivered to this node`, verdict: 'local', pkt, evidence: route.type === 'local' ? route.evidence : 'kernel', details: [route.type === 'local' ? route.detail : `${t.dst} is an address of this node (ip addr)`]})
      if (!this.netfilter(node, 'input', pkt, {iif: dev.name})) return undefined
      // VXLAN: the outer UDP datagram to the device's port is decapsulated onto that vxlan device.
      const vx = node.hooks.devices.find((d) => d.kind === 'vxlan' && d.vxlan?.port !== undefined && t.proto === 'udp' && t.dport === d.vxlan.port)
      if (vx && pkt.outer) {
        const outer = pkt.outer
        delete pkt.outer
        this.push(node, {kind: 'decap', where: {device: vx.name, ifindex: vx.ifindex, hook: 'vxlan'}, what: `UDP ${outer.dport} from ${outer.src} decapsulated by ${vx.name}${outer.vni !== undefined ? ` (VNI ${outer.vni})` : ''}`, verdict: `inner packet received on ${vx.name}`, pkt, evidence: 'kernel', details: [`${vx.name} listens on UDP port ${vx.vxlan!.port} (ip -d link)`]})
        return {at: 'ingress', dev: vx}
      }
      this.end('local', `delivered to a local socket on ${node.label} (${t.dst}${t.dport ? `:${t.dport}` : ''})`)
      return undefined
    }
    if (route.error || !route.dev || ['blackhole', 'unreachable', 'prohibit'].includes(route.type)) {
      this.push(node, {kind: 'routing', where: {device: dev.name, hook: 'routing (forward)'}, what: `route lookup for ${t.dst} from ${t.src} iif ${dev.name}${pkt.mark ? ` mark ${hex(pkt.mark)}` : ''}: ${route.error ?? route.type}`, verdict: route.type === 'blackhole' ? 'black hole' : 'no route', pkt, evidence: route.evidence, details: [route.detail]})
      this.end(route.type === 'blackhole' ? 'black-hole' : 'dropped', `no route for ${t.dst} on ${node.label}: ${route.error ?? route.type}`)
      return undefined
    }
    const out = node.hooks.devices.find((d) => d.name === route.dev)
    this.push(node, {kind: 'routing', where: {device: dev.name, hook: 'routing (forward)'}, what: `${t.dst}${route.gateway ? ` via ${route.gateway}` : ''} dev ${route.dev}${route.table && route.table !== 'main' ? ` table ${route.table}` : ''}`, verdict: `forward to ${route.dev}`, pkt, evidence: route.evidence, details: [route.detail]})
    if (!out) {
      this.end('unknown', `route names device ${route.dev}, which was not read`)
      return undefined
    }
    if (!this.netfilter(node, 'forward', pkt, {iif: dev.name, oif: out.name})) return undefined
    if (!this.netfilter(node, 'postrouting', pkt, {oif: out.name}, route.prefsrc ?? this.addressOn(out, t.dst))) return undefined
    this.gateway = route.gateway
    return {at: 'egress', dev: out}
  }

  private gateway: string | undefined
  private ctNode: NodeFacts | undefined
  private said = new Set<string>()

  /** True the first time a note is given for a node: assumptions are stated once, not at every hook. */
  private saidOnce(node: NodeFacts, note: string): boolean {
    const k = `${node.label}|${note}`
    if (this.said.has(k)) return false
    this.said.add(k)
    return true
  }

  /** MASQUERADE's choice when the route gives no source: the first address of the output device's family. */
  private addressOn(dev: Device, dst: string): string | undefined {
    const fam = dst.includes(':') ? 'inet6' : 'inet'
    return dev.addresses.find((a) => a.family === fam && a.scope !== 'link')?.local
  }

  /** A packet the node itself sends (or a tunnel's outer packet): route, OUTPUT, POSTROUTING. */
  private async localOut(node: NodeFacts, pkt: Packet): Promise<{at: 'egress'; dev: Device} | undefined> {
    const t = pkt.outer ?? pkt.tuple
    const q: RouteQuery = {family: familyOf(t.dst) ?? this.flow.family, dst: t.dst, ...(t.src ? {src: t.src} : {}), mark: pkt.mark}
    let route = await this.deps.route(node, q)
    let evidence: Evidence = route.evidence
    if (route.error || !route.dev) {
      // Not recorded: a connected subnet holding the destination is the kernel's own choice.
      const conn = node.hooks.devices.find((d) => d.addresses.some((a) => a.family === (q.family === 'ipv4' ? 'inet' : 'inet6') && a.prefixlen < (q.family === 'ipv4' ? 32 : 128) && prefixContains(parsePrefix(`${a.local}/${a.prefixlen}`, q.family)!, t.dst)))
      if (!conn) {
        this.push(node, {kind: 'routing', where: {hook: 'routing (output)'}, what: `route lookup for ${t.dst}: ${route.error ?? 'no device'}`, verdict: 'no route', pkt, evidence: route.evidence, details: [route.detail]})
        this.end('dropped', `no route for ${t.dst} on ${node.label}`)
        return undefined
      }
      const a = conn.addresses.find((x) => prefixContains(parsePrefix(`${x.local}/${x.prefixlen}`, q.family)!, t.dst))!
      route = {type: 'unicast', dev: conn.name, prefsrc: a.local, evidence: 'rule', detail: `${route.detail}; ${t.dst} is in ${a.local}/${a.prefixlen} on ${conn.name}: its connected route (routes not recorded, assumed)`}
      evidence = 'assumed'
    }
    if (route.type === 'local') {
      // Sent to one of the node's own addresses: through OUTPUT and INPUT on loopback, never on a wire.
      this.push(node, {kind: 'routing', where: {hook: 'routing (output)'}, what: `${t.dst} is local: looped back on ${route.dev ?? 'lo'}`, verdict: 'local', pkt, evidence, details: [route.detail]})
      if (!this.netfilter(node, 'output', pkt, {oif: route.dev ?? 'lo'})) return undefined
      if (!this.netfilter(node, 'input', pkt, {iif: route.dev ?? 'lo'})) return undefined
      this.end('local', `delivered to a local socket on ${node.label} (${t.dst}${t.dport ? `:${t.dport}` : ''})`)
      return undefined
    }
    this.push(node, {kind: 'routing', where: {hook: 'routing (output)'}, what: `${t.dst}${route.gateway ? ` via ${route.gateway}` : ''} dev ${route.dev}${route.prefsrc ? ` src ${route.prefsrc}` : ''}`, verdict: `out ${route.dev}`, pkt, evidence, details: [route.detail]})
    const out = node.hooks.devices.find((d) => d.name === route.dev)
    if (!out) {
      this.end('unknown', `route names device ${route.dev}, which was not read`)
      return undefined
    }
    if (!this.netfilter(node, 'output', pkt, {oif: out.name})) return undefined
    if (!this.netfilter(node, 'postrouting', pkt, {oif: out.name}, route.prefsrc ?? this.addressOn(out, t.dst))) return undefined
    this.gateway = route.gateway
    return {at: 'egress', dev: out}
  }

  /** A device's transmit path: its egress programs, then what the device does (pod, tunnel, wire). */
  private async egress(node: NodeFacts, dev: Device, pkt: Packet): Promise<{at: 'local-out'} | {at: 'egress'; dev: Device} | {node: NodeFacts; dev: Device} | undefined> {
    for (const a of this.attachmentsOf(node, dev, 'egress')) {
      const r = await this.program(node, dev, a, pkt)
      if (r.next === 'drop') {
        this.end('dropped', `dropped by ${r.label}`)
        return undefined
      }
      if (r.next === 'deliver') return undefined
      if (r.next && typeof r.next === 'object') return {at: 'egress', dev: r.next}
    }
    // A pod's veth: the packet is received in the pod.
    if ((dev.kind === 'veth' || dev.kind === 'netkit') && dev.peer && !dev.peer.sameNetns && !this.isUplink(node, dev)) {
      this.deliverToPod(node, dev, pkt)
      return undefined
    }
    if (dev.kind === 'vxlan' || dev.kind === 'geneve') return this.encapsulate(node, dev, pkt)
    // The wire: the next node is the one holding the next hop (or the destination) address.
    const t = pkt.outer ?? pkt.tuple
    const nextHop = this.gateway ?? t.dst
    for (const other of this.nodes) {
      if (other === node) continue
      const d = other.hooks.devices.find((x) => x.addresses.some((a) => a.local === nextHop || a.local === t.dst))
      if (d) {
        this.push(node, {kind: 'wire', where: {device: dev.name, ifindex: dev.ifindex, hook: 'wire'}, what: `leaves ${node.label} on ${dev.name} for ${nextHop}`, verdict: `to ${other.label} ${d.name}`, pkt, evidence: 'kernel', details: [`${nextHop} is an address of ${other.label}'s ${d.name}`]})
        this.gateway = undefined
        return {node: other, dev: d}
      }
    }
    this.push(node, {kind: 'wire', where: {device: dev.name, ifindex: dev.ifindex, hook: 'wire'}, what: `leaves ${node.label} on ${dev.name} towards ${nextHop}`, verdict: 'leaves the node', pkt, evidence: 'kernel', details: this.nodes.length > 1 ? [`no node read holds ${nextHop}`] : ['give the receiving node too (--snapshot n2.json or --netns) to follow it there']})
    this.end('left-node', `leaves ${node.label} on ${dev.name} towards ${nextHop}`)
    return undefined
  }

  private isUplink(node: NodeFacts, dev: Device): boolean {
    return node.hooks.devices.some((d) => d.vxlan?.dev === dev.name) || node.hooks.routes.some((r) => r.dst === 'default' && r.dev === dev.name)
  }

  private deliverToPod(node: NodeFacts, dev: Device, pkt: Packet): void {
    const ns = dev.peer?.netns ?? (dev.peer?.netnsId !== undefined ? node.hooks.netnsNames.get(dev.peer.netnsId) : undefined)
    const podDevs = ns ? node.netnsDevices.get(ns) : undefined
    const owns = podDevs?.some((d) => d.addresses.some((a) => a.local === pkt.tuple.dst))
    const ep = node.cilium.endpoints.find((e) => e.ifindex === dev.ifindex && e.ip === pkt.tuple.dst)
    const details = [ns ? `peer ifindex ${dev.peer?.ifindex ?? '?'} in netns ${ns}` : `peer ifindex ${dev.peer?.ifindex ?? '?'} in another netns`]
    if (owns) details.push(`${pkt.tuple.dst} is an address of that netns (its own addresses, read inside it)`)
    if (ep) details.push(`cilium_lxc: ${ep.ip} is endpoint ${ep.endpointId} on ifindex ${ep.ifindex}`)
    const peerName = podDevs?.find((d) => d.ifindex === dev.peer?.ifindex)?.name ?? 'the peer device'
    this.push(node, {kind: 'deliver', where: {device: dev.name, ifindex: dev.ifindex, inPod: ns}, what: `delivered through ${dev.name} to ${peerName}${dev.peer?.ifindex !== undefined ? ` (ifindex ${dev.peer.ifindex})` : ''}${ns ? ` in netns ${ns}` : ''}: ${pkt.tuple.dst}${pkt.tuple.dport ? `:${pkt.tuple.dport}` : ''}`, verdict: 'deliver', pkt, evidence: owns || ep ? 'kernel' : 'assumed', details})
    this.end('delivered', `reaches ${pkt.tuple.dst}${pkt.tuple.dport ? `:${pkt.tuple.dport}` : ''} in ${ns ?? 'the pod'} on ${node.label}`)
  }

  /** Encapsulation by a vxlan device: the outer destination from the tunnel key (Cilium) or the device's remote/FDB. */
  private async encapsulate(node: NodeFacts, dev: Device, pkt: Packet): Promise<{at: 'local-out'} | undefined> {
    let remote = pkt.outer?.dst
    let how = pkt.outer ? 'the tunnel key set by the program' : ''
    if (!remote && dev.vxlan?.remote) {
      remote = dev.vxlan.remote
      how = `${dev.name}'s remote`
    }
    if (!remote && !dev.vxlan?.external) {
      // Classic VXLAN: the FDB says which VTEP the next hop's MAC (or the all-zero default entry) goes to.
      const e = node.fdb.find((f) => f.dev === dev.name && f.dst && f.mac === '00:00:00:00:00:00') ?? node.fdb.find((f) => f.dev === dev.name && f.dst)
      if (e?.dst) {
        remote = e.dst
        how = `the FDB of ${dev.name}: ${e.mac} dst ${e.dst} (bridge fdb)`
      }
    }
    if (!remote) {
      const ep = lookupIpcache(node.cilium.ipcache, pkt.tuple.dst)
      if (ep?.tunnelEndpoint && ep.tunnelEndpoint !== '0.0.0.0') {
        remote = ep.tunnelEndpoint
        how = `cilium_ipcache ${ep.prefix} tunnelendpoint=${ep.tunnelEndpoint}`
      }
    }
    if (!remote && this.gateway) {
      const other = this.nodes.find((n) => n !== node && n.hooks.devices.some((d) => d.kind === 'vxlan' && d.vxlan?.local && n.hooks.devices.some((x) => x.addresses.some((a) => a.local === d.vxlan!.local))))
      if (other) {
        const ovx = other.hooks.devices.find((d) => d.kind === 'vxlan')!
        remote = ovx.vxlan!.local
        how = `${dev.name} has no remote; the other node's ${ovx.name} is local to ${remote} (FDB not read: assumed)`
      }
    }
    const local = dev.vxlan?.local ?? this.uplinkOf(node)?.addresses.find((a) => a.family === 'inet')?.local
    if (!remote || !local) {
      this.push(node, {kind: 'encap', where: {device: dev.name, ifindex: dev.ifindex, hook: 'vxlan'}, what: `encapsulated by ${dev.name}; outer destination unknown (no tunnel key, remote or ipcache entry read)`, verdict: 'encapsulate', pkt, evidence: 'assumed', details: []})
      this.unseen.push(`${node.label} ${dev.name}: the VXLAN destination (FDB) was not read`)
      this.end('unknown', `encapsulated by ${dev.name} towards an unknown node`)
      return undefined
    }
    // An external (collect-metadata) device takes its VNI from the tunnel key, not from its own configuration.
    const vni = dev.vxlan?.external ? pkt.outer?.vni : dev.vxlan?.vni
    pkt.outer = compact({src: local, dst: remote, proto: 'udp' as const, sport: undefined, dport: dev.vxlan?.port ?? 8472, vni})
    this.push(node, {kind: 'encap', where: {device: dev.name, ifindex: dev.ifindex, hook: 'vxlan'}, what: `encapsulated by ${dev.name}: outer ${local} → ${remote} UDP ${pkt.outer.dport}${vni !== undefined ? ` VNI ${vni}` : dev.vxlan?.external ? ' (VNI from the tunnel key)' : ''}`, verdict: 'encapsulate', pkt, evidence: how.includes('assumed') ? 'assumed' : how.startsWith('cilium') || how.startsWith('the tunnel') ? 'program' : 'kernel', details: [`outer destination from ${how}`]})
    this.gateway = undefined
    return {at: 'local-out'}
  }

  // ------------------------------------------------------------------ netfilter

  /** Run one netfilter hook; false when it ends the walk (drop). Not recorded / not evaluable: said once. */
  private netfilter(node: NodeFacts, hook: Hook, pkt: Packet, ifs: {iif?: string; oif?: string}, masq?: string): boolean {
    const hasRules = node.xt.some((r) => r.tables.length > 0) || node.nft.length > 0
    if (!hasRules) return true
    if (!this.deps.netfilter) {
      this.unseen.push(`${node.label}: netfilter ${hook} not evaluated`)
      return true
    }
    const target = pkt.outer ?? pkt.tuple
    // Conntrack is per netns: a packet arriving on another node starts a new entry there.
    if (this.ctNode !== node) {
      this.ctNode = node
      pkt.ct = undefined
      pkt.ctmark = 0
    }
    const r = this.deps.netfilter(node, hook, {tuple: target, mark: pkt.mark, ctmark: pkt.ctmark, ...(pkt.ct ? {ct: pkt.ct} : {}), ...ifs}, masq)
    if (!r) return true
    pkt.ctmark = r.ctmark
    if (r.ct) pkt.ct = r.ct
    const changed = r.mark !== pkt.mark || r.tuple.dst !== target.dst || r.tuple.src !== target.src || r.tuple.dport !== target.dport || r.tuple.sport !== target.sport
    const interesting = r.verdict !== 'accept' || changed || r.rules.some((x) => !/^jump |^RETURN|^ACCEPT/.test(x.action))
    if (!interesting && r.unknowns.length === 0) return true
    if (pkt.outer) pkt.outer = {...pkt.outer, ...r.tuple}
    else pkt.tuple = r.tuple
    pkt.mark = r.mark
    // Shown: what changed or decided something; jumps and accepting policies are in `rules` for the record.
    const decisive = r.rules.filter((x) => !/^(jump|goto) /.test(x.action) && !(x.position === 0 && /^ACCEPT/.test(x.action)) && x.action !== 'RETURN')
    this.push(node, {
      kind: 'netfilter',
      where: {hook: `netfilter ${hook}`, ...(ifs.iif ? {device: ifs.iif} : ifs.oif ? {device: ifs.oif} : {})},
      what: decisive.length ? decisive.map((x) => `${x.table}/${x.chain} #${x.position}: ${x.action}`).join('; ') : `${hook}: no rule changes it`,
      verdict: r.nat ? `${r.verdict.toUpperCase()} (${r.nat})` : r.verdict.toUpperCase(),
      pkt,
      evidence: r.unknowns.length ? 'assumed' : 'rule',
      details: [...(r.notes ?? []).filter((n) => this.saidOnce(node, n)), ...r.unknowns.map((u) => `unknown: ${u}`)],
      rules: r.rules.filter((x) => !(x.position === 0 && /^ACCEPT/.test(x.action))),
      branches: r.branches,
    })
    if (r.verdict === 'drop' || r.verdict === 'reject') {
      this.end('dropped', `dropped by netfilter ${hook} on ${node.label}: ${decisive[decisive.length - 1]?.raw ?? 'chain policy'}`)
      return false
    }
    return true
  }

  // ------------------------------------------------------------------ eBPF programs

  /** What one attached (or tail-called) program does to the packet, from its code where read, else its known role. */
  private async program(node: NodeFacts, dev: Device, a: HookAttachment, pkt: Packet, depth = 0, endpoint?: string): Promise<{next?: Device | 'deliver' | 'drop'; label: string}> {
    const p = node.hooks.programs.find((x) => x.id === a.progId)
    const rec = recogniseAttachment(a, p)
    const code = node.programs.get(a.progId)
    const label = `${a.attachName ?? p?.name ?? 'program'} (id ${a.progId})`
    const hookName = `${a.hook.replace('-', ' ')}${a.hook === 'xdp' && a.xdpMode ? ` (${a.xdpMode})` : ''}`
    const program: StepProgram = compact({id: a.progId, name: p?.name, attachName: a.attachName, role: rec?.role, software: rec?.software})
    const where = compact({device: dev.name, ifindex: dev.ifindex, hook: depth ? 'tail call' : hookName, endpoint})
    const details: string[] = []
    if (rec) details.push(`recognised as ${rec.software} ${rec.role} by ${rec.matchedBy} "${rec.matched}": ${rec.summary}`)
    const markBefore = pkt.mark
    // skb->mark exists for tc programs only; XDP's context has no mark.
    if (code && p?.type !== 'xdp') this.applyProgramMarks(code, pkt, details)

    const redirects = code?.helperCalls.filter((h) => h.family === 'redirect') ?? []
    const tails = code?.helperCalls.filter((h) => h.helper === 'bpf_tail_call') ?? []
    if (code && redirects.length === 0) {
      details.push('its instructions call no redirect helper: it can only let the packet go on or drop it (assumed: on)')
      this.push(node, {kind: depth ? 'tail-call' : 'bpf', where, what: label, verdict: 'pass', pkt, evidence: 'program', details, program})
      if (tails.length) return this.followTailCalls(node, dev, a, rec?.role, tails.map((t) => t.mapId), pkt, depth)
      return {label}
    }
    if (!rec) {
      const what = code ? `calls ${[...new Set(redirects.map((r) => r.helper))].join(', ')}: may redirect; target not known` : 'its instructions were not read and its name is not known'
      this.unseen.push(`${node.label} ${dev.name} ${hookName}: ${label}: ${what}`)
      this.push(node, {kind: depth ? 'tail-call' : 'bpf', where, what: label, verdict: 'pass (assumed)', pkt, evidence: 'assumed', details: [...details, `${what}; assumed to let the packet go on`], program})
      return {label}
    }
    if (code) details.push(`its instructions call ${[...new Set(redirects.map((r) => r.helper))].join(', ')}: ${rec.software}'s known semantics decide where`)
    else if (markBefore === pkt.mark) details.push("its instructions were not read: known semantics of the recognised program")
    return this.ciliumSemantics(node, dev, a, rec.role, pkt, {where, label, program, details, depth})
  }

  /** Apply the constant mark writes the program's code shows (evidence: its instructions). */
  private applyProgramMarks(code: ProgramSummary, pkt: Packet, details: string[]): void {
    for (const w of code.writes) {
      const op = markOpOf(w)
      if (!op || w.unknownBits) {
        details.push(`writes skb->mark with a value the analysis could not follow (${w.expr}): mark after it unknown`)
        continue
      }
      const before = pkt.mark
      pkt.mark = applyMarkOp(op, {packet: pkt.mark, conntrack: 0}).packet
      details.push(`skb->mark ${w.expr} (insn ${w.pc}): ${hex(before)} → ${hex(pkt.mark)}`)
    }
  }

  private async followTailCalls(node: NodeFacts, dev: Device, a: HookAttachment, role: string | undefined, mapIds: Array<number | undefined>, pkt: Packet, depth: number): Promise<{next?: Device | 'deliver' | 'drop'; label: string}> {
    if (depth >= MAX_TAIL_CALLS) return {label: 'tail call limit'}
    const policy = node.cilium.selected.find((s) => s.name === 'cilium_call_policy')
    if (policy && mapIds.includes(policy.map.id)) {
      const ep = node.cilium.endpoints.find((e) => e.ip === pkt.tuple.dst && !e.isHost)
      const slot = ep ? node.cilium.policyCalls.find((c) => c.key === ep.endpointId) : undefined
      if (!ep || !slot) {
        this.note(`tail call through cilium_call_policy (map ${policy.map.id}): ${ep ? `no program in slot ${ep.endpointId}` : `${pkt.tuple.dst} is not a local endpoint in cilium_lxc`}: the packet continues`)
        return {label: 'tail call miss'}
      }
      this.note(`cilium_lxc: ${ep.ip} is endpoint ${ep.endpointId} (ifindex ${ep.ifindex}); tail call cilium_call_policy[${ep.endpointId}] → program ${slot.progId}`)
      const target: HookAttachment = {ifindex: dev.ifindex, devname: dev.name, hook: a.hook, progId: slot.progId, witnesses: []}
      const tp = node.hooks.programs.find((x) => x.id === slot.progId)
      if (tp?.name) target.attachName = tp.name
      return this.program(node, dev, target, pkt, depth + 1, node.hooks.devices.find((d) => d.ifindex === ep.ifindex)?.name)
    }
    this.unseen.push(`${node.label} ${dev.name}: tail calls through map ${mapIds.filter((x) => x !== undefined).join(', ') || '?'} (${role ?? 'unknown program'}): targets not read`)
    this.note(`tail calls through map${mapIds.length > 1 ? 's' : ''} ${mapIds.join(', ')}: targets not read; assumed to let the packet go on`)
    return {label: 'tail call'}
  }

  /** Cilium's datapath (tunnel mode) by program role, reading its maps the way docs/scenario.md#the-walk does. */
  private ciliumSemantics(node: NodeFacts, dev: Device, a: HookAttachment, role: string, pkt: Packet, s: {where: PathStep['where']; label: string; program: StepProgram; details: string[]; depth: number}): {next?: Device | 'deliver' | 'drop'; label: string} {
    const kind: StepKind = s.depth ? 'tail-call' : 'bpf'
    const localEp = (ip: string): CiliumEndpoint | undefined => node.cilium.endpoints.find((e) => e.ip === ip && !e.isHost)
    const lxcOf = (ep: CiliumEndpoint) => node.hooks.devices.find((d) => d.ifindex === ep.ifindex)
    if (role === 'from-container') {
      const ep = localEp(pkt.tuple.dst)
      if (ep) {
        const lxc = lxcOf(ep)
        this.push(node, {kind, where: s.where, what: s.label, verdict: `local endpoint ${ep.endpointId}: to-container, then redirect to ${lxc?.name ?? `ifindex ${ep.ifindex}`}`, pkt, evidence: 'program', details: [...s.details, `cilium_lxc: ${ep.ip} is local endpoint ${ep.endpointId} on ifindex ${ep.ifindex}`, 'egress policy: not read (assumed allowed)'], program: s.program})
        if (lxc) {
          this.deliverToPod(node, lxc, pkt)
          return {next: 'deliver', label: s.label}
        }
        return {label: s.label}
      }
      const ip = lookupIpcache(node.cilium.ipcache, pkt.tuple.dst)
      if (ip?.tunnelEndpoint && ip.tunnelEndpoint !== '0.0.0.0' && ip.tunnelEndpoint !== '::') {
        const vx = node.hooks.devices.find((d) => d.name === 'cilium_vxlan' || d.name === 'cilium_geneve')
        const local = vx?.vxlan?.local ?? this.uplinkOf(node)?.addresses.find((x) => x.family === 'inet')?.local ?? '?'
        pkt.outer = compact({src: local, dst: ip.tunnelEndpoint, proto: 'udp' as const, dport: vx?.vxlan?.port ?? 8472})
        this.push(node, {kind, where: s.where, what: s.label, verdict: `encapsulate to ${ip.tunnelEndpoint}, redirect to ${vx?.name ?? 'cilium_vxlan'}`, pkt, evidence: 'program', details: [...s.details, `cilium_ipcache: ${ip.prefix} identity=${ip.identity} encryptkey=${ip.encryptKey ?? 0} tunnelendpoint=${ip.tunnelEndpoint}`, 'tunnel mode: the tunnel key (remote node; VNI = the source endpoint\'s security identity, not read here) is set and the packet redirected to the overlay device (direct routing would hand it to the stack)', 'egress policy: not read (assumed allowed)'], program: s.program})
        if (vx) return {next: vx, label: s.label}
        return {label: s.label}
      }
      this.push(node, {kind, where: s.where, what: s.label, verdict: 'pass to the stack', pkt, evidence: node.cilium.ipcache.length ? 'program' : 'assumed', details: [...s.details, node.cilium.ipcache.length ? `cilium_ipcache: no tunnel endpoint for ${pkt.tuple.dst}` : 'cilium_ipcache not read: assumed handed to the stack'], program: s.program})
      return {label: s.label}
    }
    if (role === 'from-overlay' || role === 'to-container') {
      const ep = localEp(pkt.tuple.dst)
      if (!ep) {
        this.push(node, {kind, where: s.where, what: s.label, verdict: 'pass to the stack', pkt, evidence: node.cilium.endpoints.length ? 'program' : 'assumed', details: [...s.details, node.cilium.endpoints.length ? `cilium_lxc: ${pkt.tuple.dst} is not a local endpoint` : 'cilium_lxc not read'], program: s.program})
        return {label: s.label}
      }
      const lxc = lxcOf(ep)
      if (role === 'from-overlay') {
        const policy = node.cilium.policyCalls.find((c) => c.key === ep.endpointId)
        this.push(node, {kind, where: s.where, what: s.label, verdict: `local delivery: tail call to endpoint ${ep.endpointId}'s policy program`, pkt, evidence: 'program', details: [...s.details, `cilium_lxc: ${ep.ip}:0 id=${ep.endpointId} ifindex=${ep.ifindex} mac=${ep.mac} nodemac=${ep.nodeMac}`], program: s.program})
        const target = policy ? node.hooks.programs.find((x) => x.id === policy.progId) : undefined
        this.push(node, {kind: 'tail-call', where: compact({device: dev.name, ifindex: dev.ifindex, hook: 'tail call (not attached to a hook)', endpoint: lxc?.name}), what: `to-container of endpoint ${ep.endpointId}${policy ? `: program ${policy.progId}${target?.name ? ` ${target.name}` : ''}` : ' (cilium_call_policy slot not read)'}`, verdict: `ingress policy, then redirect to ${lxc?.name ?? `ifindex ${ep.ifindex}`}`, pkt, evidence: 'program', details: ['ingress policy: not read (assumed allowed)', policy ? `cilium_call_policy[${ep.endpointId}] = program ${policy.progId}` : 'cilium_call_policy not read: the target program id is unknown'], program: compact({id: policy?.progId, name: target?.name, role: 'to-container', software: 'Cilium'})})
        if (!policy) this.unseen.push(`${node.label}: the to-container program of endpoint ${ep.endpointId} (cilium_call_policy not read)`)
      } else {
        this.push(node, {kind, where: s.where, what: s.label, verdict: `ingress policy, then redirect to ${lxc?.name ?? `ifindex ${ep.ifindex}`}`, pkt, evidence: 'program', details: [...s.details, 'ingress policy: not read (assumed allowed)'], program: s.program})
      }
      if (lxc) {
        this.deliverToPod(node, lxc, pkt)
        return {next: 'deliver', label: s.label}
      }
      return {label: s.label}
    }
    // to-overlay, to-netdev, from-netdev, to-host, from-host, xdp: on the packets of this walk they hand it on.
    const verdict = role === 'from-netdev' ? 'pass to the stack' : role.startsWith('to-') ? 'pass' : 'pass'
    this.push(node, {kind, where: s.where, what: s.label, verdict, pkt, evidence: 'program', details: s.details, program: s.program})
    return {label: s.label}
  }
}

function markOpOf(w: MarkWrite): MarkOp | undefined {
  switch (w.op) {
    case 'set':
      return {kind: 'set', target: 'packet', value: w.value}
    case 'or':
      return {kind: 'or', target: 'packet', value: w.value}
    case 'and':
      return {kind: 'and', target: 'packet', value: w.value}
    case 'xor':
      return {kind: 'xor', target: 'packet', value: w.value}
    case 'set-xmark':
      return {kind: 'set-xmark', target: 'packet', value: w.value, mask: w.mask}
    case 'set-masked':
      return {kind: 'set-mark', target: 'packet', value: w.value, mask: w.mask}
    default:
      return undefined
  }
}
