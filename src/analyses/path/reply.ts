import type {NodeState} from '../../model/node-state.js'
import type {Conntrack, FlowSpec, PathStep, TraceOutcome, Tuple} from '../../model/path.js'
import type {RouteAnswer, RouteQuery} from '../../model/routing.js'
import {rpFilterMode} from '../../model/rp-filter.js'
import {compact} from '../../util/compact.js'
import {natKindOfHook} from '../netfilter-eval/state.js'
import {PathWalker, type WalkDeps, type WalkResult} from './walk.js'

/** A NAT the forward walk bound on one node: the connection's address before and after it. */
interface NatBinding {
  node: string
  kind: 'dnat' | 'snat'
  from: {addr: string; port?: number}
  to: {addr: string; port?: number}
}

/** One route lookup the walk asked, on one node. */
interface AskedRoute {
  node: NodeState
  q: RouteQuery
  answer: RouteAnswer
}

/** The route lookups a walk asks, kept so the reply can be compared with the forward packet (asymmetric routing). */
export class RouteLog {
  readonly asked: AskedRoute[] = []

  wrap(deps: WalkDeps): WalkDeps {
    return {
      ...deps,
      route: async (node, q) => {
        const answer = await deps.route(node, q)
        this.asked.push({node, q, answer})
        return answer
      },
    }
  }
}

const hostPort = (a: string, p?: number) => `${a}${p !== undefined ? `:${p}` : ''}`

/** The NATs the forward walk bound: each netfilter step that changed the packet's destination (DNAT) or source (SNAT). */
function natBindings(flow: FlowSpec, steps: readonly PathStep[]): NatBinding[] {
  const out: NatBinding[] = []
  let prev: Tuple = compact({src: flow.src, dst: flow.dst, proto: flow.proto, sport: flow.sport, dport: flow.dport})
  for (const s of steps) {
    if (s.kind === 'netfilter') {
      if (s.tuple.dst !== prev.dst || s.tuple.dport !== prev.dport) out.push({node: s.node, kind: 'dnat', from: compact({addr: prev.dst, port: prev.dport}), to: compact({addr: s.tuple.dst, port: s.tuple.dport})})
      if (s.tuple.src !== prev.src || s.tuple.sport !== prev.sport) out.push({node: s.node, kind: 'snat', from: compact({addr: prev.src, port: prev.sport}), to: compact({addr: s.tuple.src, port: s.tuple.sport})})
    }
    prev = s.tuple
  }
  return out
}

/**
 * The answer's walk: from the forward packet's destination back to its source, the tuple as the forward packet
 * arrived, reversed. Conntrack holds the connection in every netns the forward packet was tracked in, so the reply
 * is ESTABLISHED there (direction REPLY), nat chains do not run, and the nat core undoes each NAT the forward walk
 * bound (kn-20). Where the reply parts from the forward path (asymmetric routing, kn-21), its route step says so.
 */
export async function walkReply(nodes: NodeState[], flow: FlowSpec, forward: WalkResult, forwardRoutes: RouteLog, deps: WalkDeps): Promise<WalkResult & {flow?: FlowSpec}> {
  const last = forward.steps[forward.steps.length - 1]
  // A packet that left the nodes read towards its destination (a host outside them) is answered from there: the
  // reply arrives on the wire of the node it left.
  const leftTowardsDst = forward.outcome.kind === 'left-node' && last !== undefined && !last.outer
  if (forward.outcome.kind !== 'delivered' && forward.outcome.kind !== 'local' && !leftTowardsDst) {
    return {steps: [], outcome: {kind: 'unknown', text: `no reply: the forward packet does not arrive (${forward.outcome.kind}: ${forward.outcome.text})`}, unseen: [], warnings: []}
  }
  const arrived = last?.tuple ?? {src: flow.src, dst: flow.dst, proto: flow.proto}
  const leftFrom = leftTowardsDst ? nodes.find((n) => n.label === last.node) : undefined
  const order = leftFrom ? [leftFrom, ...nodes.filter((n) => n !== leftFrom)] : nodes
  const reply: FlowSpec = compact({family: flow.family, src: arrived.dst, dst: arrived.src, proto: flow.proto, sport: arrived.dport, dport: arrived.sport, mark: 0})
  const nats = natBindings(flow, forward.steps)
  // The connection's addresses, as either direction carries them: an outer (tunnel) packet is not this connection.
  const addrs = new Set([flow.src, flow.dst, ...nats.flatMap((n) => [n.from.addr, n.to.addr])])
  const ctMarks = new Map<string, number>()
  for (const s of forward.steps) if (s.ct && s.kind === 'netfilter') ctMarks.set(s.node, s.ct.mark)
  const reversePaths = await reversePathsFor(nodes, flow.family, [...addrs], deps)
  const routes = new RouteLog()
  const evaluate = deps.netfilter
  const rpDrops: string[] = []
  const replyDeps: WalkDeps = routes.wrap({
    ...deps,
    route: async (node, q) => {
      const answer = await deps.route(node, q)
      const refused = answer.evidence === 'kernel' ? undefined : await reversePathRefusal(node, q, answer, deps)
      if (!refused) return answer
      rpDrops.push(`dropped by reverse-path filtering on ${node.label}: ${refused}`)
      return {...answer, error: refused, detail: `${answer.detail}; ${refused}`}
    },
    ...(evaluate
      ? {
          netfilter: (node, hook, pkt, masq) => {
            const ours = pkt.tuple.proto === flow.proto && addrs.has(pkt.tuple.src) && addrs.has(pkt.tuple.dst)
            if (!ours || pkt.ct?.state === 'UNTRACKED') return evaluate(node, hook, pkt, masq)
            // nf_conntrack_in finds the connection's entry: the reply is ESTABLISHED (IP_CT_ESTABLISHED_REPLY).
            const ct: Conntrack = {...(pkt.ct ?? {zone: 0}), state: 'ESTABLISHED', mark: ctMarks.get(node.label) ?? pkt.ct?.mark ?? 0}
            const manip = natKindOfHook(hook)
            // nf_nat_packet on the reply: at a destination hook the source NAT is undone, at a source hook the
            // destination NAT (nf_nat_inet_fn, by the nat core's priority: -100 destination, 100 source).
            const undo = nats.filter((n) => n.node === node.label && (manip === 'dst' ? n.kind === 'snat' && pkt.tuple.dst === n.to.addr && (n.to.port === undefined || pkt.tuple.dport === n.to.port) : manip === 'src' ? n.kind === 'dnat' && pkt.tuple.src === n.to.addr && (n.to.port === undefined || pkt.tuple.sport === n.to.port) : false))
            const undone = (t: Tuple): Tuple => {
              let u = t
              for (const n of undo) u = n.kind === 'snat' ? compact({...u, dst: n.from.addr, dport: n.from.port ?? u.dport}) : compact({...u, src: n.from.addr, sport: n.from.port ?? u.sport})
              return u
            }
            // At OUTPUT the nat core (-100) runs before filter (0): the rules there see the packet de-NATed.
            const early = hook === 'output'
            const back = reversePaths.get(node)?.get(pkt.tuple.src)
            const r = evaluate(node, hook, {...pkt, tuple: early ? undone(pkt.tuple) : pkt.tuple, ct, ...(back ? {reversePath: back} : {})}, masq)
            if (!r) return r
            const said = undo.map((n) => `${n.kind === 'snat' ? 'un-SNAT' : 'un-DNAT'} ${n.kind === 'snat' ? 'destination' : 'source'} ${hostPort(n.to.addr, n.to.port)} → ${hostPort(n.from.addr, n.from.port)}`)
            const notes = [...(r.notes ?? []), ...said.map((s) => `${s}: the nat core undoes the forward packet's ${s.includes('SNAT') ? 'SNAT' : 'DNAT'} on the reply (nf_nat_packet from nf_nat_inet_fn, kn-20)`)]
            return {...r, tuple: early ? r.tuple : undone(r.tuple), ct: {...r.ct, state: 'ESTABLISHED'}, notes, ...(said.length ? {nat: [r.nat, ...said].filter(Boolean).join('; ')} : {})}
          },
        }
      : {}),
  })
  const r = await new PathWalker(order, reply, replyDeps, leftFrom ? last?.where.device : undefined).walk()
  const asymmetric = markAsymmetry(r.steps, routes.asked, forwardRoutes.asked)
  const unmatched = r.outcome.kind === 'delivered' || r.outcome.kind === 'local' ? unmatchedArrival(flow, r.steps) : undefined
  const outcome = unmatched ? {...r.outcome, kind: 'dropped' as const, text: unmatched} : rpDrops.length && r.outcome.kind === 'dropped' ? {...r.outcome, text: rpDrops[rpDrops.length - 1]!} : r.outcome
  return {...r, outcome: asymmetric.length ? {...outcome, text: `${outcome.text} (${asymmetric.join('; ')})`} : outcome, flow: reply}
}

/**
 * The reply reaches the client's netns, but does its socket take it? Only when it carries the connection the
 * client opened, reversed: its TCP or connected UDP socket is found by the full 4-tuple (__inet_lookup_established;
 * udp4_lib_lookup2 scores a connected socket only for its peer). A NAT the way back did not undo (no conntrack hook
 * saw the reply: bridged without br_netfilter, or routed around the node that translated it) leaves another tuple:
 * TCP answers it with a reset (tcp_v4_send_reset), UDP with ICMP port unreachable or nothing (kn-28). Undefined: it matches.
 */
function unmatchedArrival(flow: FlowSpec, steps: readonly PathStep[]): string | undefined {
  const t = steps.at(-1)?.tuple
  if (!t || (flow.proto !== 'tcp' && flow.proto !== 'udp')) return undefined
  const want = compact({src: flow.dst, sport: flow.dport, dst: flow.src, dport: flow.sport})
  const fromOk = t.src === want.src && t.sport === want.sport
  const toOk = t.dst === want.dst && t.dport === want.dport
  if (fromOk && toOk) return undefined
  const got = `${hostPort(t.src, t.sport)} → ${hostPort(t.dst, t.dport)}`
  const why = [
    ...(fromOk ? [] : [`its source is ${hostPort(t.src, t.sport)}, not ${hostPort(want.src, want.sport)}: the destination NAT was not undone on the way back`]),
    ...(toOk ? [] : [`its destination is ${hostPort(t.dst, t.dport)}, not ${hostPort(want.dst, want.dport)}: the source NAT was not undone on the way back`]),
  ]
  const answer = flow.proto === 'tcp' ? 'TCP answers it with a reset (tcp_v4_send_reset)' : 'the connected UDP socket does not take it (udp4_lib_lookup2 matches a connected socket only to its peer)'
  return `the reply arrives as ${got}, which is not the connection the client opened (${hostPort(flow.src, flow.sport)} → ${hostPort(flow.dst, flow.dport)}): ${why.join('; ')} (no conntrack hook of the node that translated it saw the reply); no socket matches it (__inet_lookup_established), ${answer}`
}

/**
 * The reply's route lookups against the forward packet's on the same node: a reply that leaves by another device
 * than the forward packet came in on takes another path back (asymmetric routing), which strict reverse-path
 * filtering on the way or a stateful device there may drop (kn-21). Said on the reply's route step.
 */
function markAsymmetry(steps: PathStep[], reply: readonly AskedRoute[], forward: readonly AskedRoute[]): string[] {
  const said: string[] = []
  for (const a of reply) {
    if (!a.answer.dev || a.answer.error || a.answer.type === 'local') continue
    // The forward lookup of the same pair of addresses, the other way round, on this node, of a received packet.
    const f = forward.find((x) => x.node === a.node && x.q.iif && x.q.src === a.q.dst && x.q.dst === a.q.src)
    // A bridge port and its bridge are one L3 device: a packet received on the port is routed with iif the bridge.
    const l3 = (node: NodeState, dev: string | undefined) => node.hooks.devices.find((d) => d.name === dev)?.master ?? dev
    if (!f || f.q.iif === a.answer.dev || l3(a.node, f.q.iif) === l3(a.node, a.answer.dev)) continue
    const step = steps.find((s) => s.node === a.node.label && s.kind === 'routing' && (s.outer ?? s.tuple).dst === a.q.dst && s.where.device === a.q.iif)
    const text = `asymmetric routing: the reply leaves ${a.node.label} by ${a.answer.dev}${a.answer.table && a.answer.table !== 'main' ? ` (table ${a.answer.table})` : ''}, but the forward packet came in on ${f.q.iif} (kn-21)`
    if (step) step.details.push(text)
    said.push(text)
  }
  return said
}

/** Whether a node's rules hold an `-m rpfilter` match, which needs the route back to the packet's source. */
function hasRpfilterMatch(node: NodeState): boolean {
  return node.xt.some((x) => x.tables.some((t) => t.chains.some((c) => c.rules.some((r) => r.matches.some((m) => m.kind === 'rpfilter')))))
}

/**
 * The kernel's route back to each address of the connection, on each node whose rules hold an `-m rpfilter` match
 * (the evaluator is pure: it is asked before the walk; xt_rpfilter's lookup, kn-22).
 */
async function reversePathsFor(nodes: readonly NodeState[], family: FlowSpec['family'], addrs: readonly string[], deps: WalkDeps): Promise<Map<NodeState, Map<string, {dev?: string}>>> {
  const out = new Map<NodeState, Map<string, {dev?: string}>>()
  for (const node of nodes.filter(hasRpfilterMatch)) {
    const m = new Map<string, {dev?: string}>()
    for (const a of addrs) {
      const r = await deps.route(node, {family, dst: a, mark: 0})
      m.set(a, r.error || !r.dev || r.type !== 'unicast' ? {} : {dev: r.dev})
    }
    out.set(node, m)
  }
  return out
}

/**
 * fib_validate_source for a received packet, where the route answer was recomputed from tables (the kernel, asked
 * live with iif, applies it itself and answers EXDEV): rp_filter 1 (strict) refuses a packet whose source is not
 * routed back out the device it came in on, 2 (loose) one whose source has no route at all (kn-22).
 */
async function reversePathRefusal(node: NodeState, q: RouteQuery, answer: RouteAnswer, deps: WalkDeps): Promise<string | undefined> {
  if (!q.iif || !q.src || !node.rpFilter || answer.error) return undefined
  const mode = rpFilterMode(node.rpFilter, q.iif)
  if (mode !== 1 && mode !== 2) return undefined
  // The reverse lookup: to the packet's source, from its destination (the mark only with src_valid_mark, off by default).
  const back = await deps.route(node, {family: q.family, dst: q.src, src: q.dst, mark: 0})
  const unicast = !back.error && back.dev !== undefined && back.type === 'unicast'
  const key = `rp_filter ${mode} (${mode === 1 ? 'strict' : 'loose'}) on ${q.iif}`
  if (!unicast) return `${key}: no route back to ${q.src} (fib_validate_source, kn-22)`
  if (mode === 1 && back.dev !== q.iif) return `${key}: the route back to ${q.src} leaves by ${back.dev}, not ${q.iif} (fib_validate_source: EXDEV, kn-22)`
  return undefined
}

/** The outcome of the reply as one line a user asks about: does the answer come back, and where does it stop. */
export function replyOutcomeText(o: TraceOutcome, flow: FlowSpec, replyFlow?: FlowSpec): string {
  const back = `${flow.dst}${flow.dport ? `:${flow.dport}` : ''} → ${flow.src}${flow.sport ? `:${flow.sport}` : ''}`
  // SRC on no node read: the reply leaving towards it is all the nodes read can do for it.
  const towardsSrc = o.kind === 'left-node' && replyFlow !== undefined && (o.text.endsWith(`towards ${replyFlow.dst}`) || o.text.includes(`towards ${replyFlow.dst} (`))
  if (o.kind === 'delivered' || o.kind === 'local' || towardsSrc) return `the reply comes back (${back}): ${o.text}`
  return `the reply never comes back (${back}): ${o.text}`
}
