/** The path of one flow through one or more nodes: what `nodeinspect trace` reports. Plain JSON data. */

type IpFamily = 'ipv4' | 'ipv6'
export type Proto = 'tcp' | 'udp' | 'icmp' | 'icmpv6'

/** The packet as the user described it. */
export interface FlowSpec {
  family: IpFamily
  src: string
  dst: string
  proto: Proto
  sport?: number
  dport?: number
  /** The packet mark it starts with (`--mark`); 0 by default. */
  mark: number
}

/** The addresses and ports a packet carries at one point (after NAT, inside or outside a tunnel). */
export interface Tuple {
  src: string
  dst: string
  proto: Proto
  sport?: number
  dport?: number
  /**
   * A source NAT with random ports (--random, --random-fully, nft `random`, `fully-random`) ran: the kernel picks
   * the source port per connection (nf_nat_l4proto_unique_tuple), so `sport` is the original one, not the one sent.
   */
  sportRandom?: true
}

/**
 * How a step is known: `kernel` (the kernel answered, e.g. a route lookup with iif, source and mark),
 * `rule` (a rule or table nodeinspect evaluated against the flow), `program` (known semantics of a recognised
 * eBPF program, or what its instructions show), `assumed` (nothing could tell; the assumption is stated).
 */
export type Evidence = 'kernel' | 'rule' | 'program' | 'assumed'

export type StepKind = 'pod-route' | 'bpf' | 'tail-call' | 'netfilter' | 'routing' | 'encap' | 'decap' | 'bridge' | 'macvlan' | 'wire' | 'deliver' | 'unseen'

export interface StepProgram {
  id?: number
  name?: string
  attachName?: string
  role?: string
  software?: string
}

export interface StepRule {
  engine: string
  table: string
  chain: string
  position: number
  raw: string
  action: string
}

/**
 * The conntrack entry attached to the packet (skb->_nfct) in one netns: its state, zone, ct mark and the NAT
 * bound so far. `NEW`: the first packet of a connection (what `trace` follows); `UNTRACKED`: a NOTRACK (raw
 * table, `notrack`) detached it from conntrack, so nat chains do not see it.
 */
export interface Conntrack {
  state: 'NEW' | 'ESTABLISHED' | 'UNTRACKED'
  zone: number
  mark: number
  nat?: {dnat?: boolean; snat?: boolean}
  /** The nat core has run for the connection's destination / source (a binding or a null one): nat chains do not run again for it. */
  natSetUp?: {dst?: boolean; src?: boolean}
}

/** One table (base chain) registered at a netfilter hook, in the order the kernel runs them, and how it ended. */
export interface HookTable {
  engine: string
  backend?: string
  table: string
  chain: string
  /** Its declared priority (nat chains run inside the nat core at -100 / 100, by their own priority). */
  priority: number
  /** 'ACCEPT (policy)', 'ACCEPT', 'DROP', 'skipped: …', 'not reached: …'. */
  verdict: string
  /** The rule that ended it, as `table/chain #position: action` (absent: its policy, or it did not run). */
  decidedBy?: string
}

export interface PathStep {
  /** 1-based, in the order the packet meets them. */
  n: number
  node: string
  netns?: string
  /** `endpoint`: for a tail call into an endpoint's program, the endpoint's device (the program belongs to it). */
  where: {device?: string; ifindex?: number; hook?: string; table?: string; chain?: string; inPod?: string; endpoint?: string}
  kind: StepKind
  /** One line: the program, the rule, the route. */
  what: string
  program?: StepProgram
  rules?: StepRule[]
  /** pass, redirect to cilium_vxlan, ACCEPT, DNAT to …, DROP, deliver, … */
  verdict: string
  /** What the verdict does to the packet, for programs that classify steps (renderers): the text stays for people. */
  verdictKind: VerdictKind
  /** The packet after this step (inner packet when tunnelled), its outer header when encapsulated, and its mark. */
  tuple: Tuple
  outer?: Tuple & {vni?: number}
  mark: number
  /** Bits of `mark` whose value is not known (a program stored a value the analysis could not follow); absent when every bit is known. */
  markUnknown?: number
  /** The packet's conntrack entry after this step (of its outermost header); absent: none attached yet in this netns. */
  ct?: Conntrack
  /** netfilter steps: every table at the hook, in the kernel's order. */
  tables?: HookTable[]
  evidence: Evidence
  /** Why: map lookups, routes, rules, assumptions. */
  details: string[]
  /** Alternatives the packet could have taken (statistic/numgen branches). */
  branches?: string[]
}

/**
 * What a step did with the packet:
 * - `arrive`: it arrives from the wire (its source is on no node read);
 * - `route`: a route lookup sends it on (the pod's own, forward or output);
 * - `local`: the destination is an address of the node;
 * - `no-route`, `black-hole`: the route lookup ends it;
 * - `pass`: a program hands it on (to the next program, or the stack);
 * - `redirect`: a program sends it to another device (or into a pod's);
 * - `tail-call`: a program hands it to another program;
 * - `accept`, `drop`, `reject`, `queue`, `unknown`: a netfilter hook's verdict (`unknown`: not decidable);
 * - `encapsulate`, `decapsulate`: a tunnel device wraps or unwraps it;
 * - `forward`: a bridge sends the frame to one of its ports (its FDB entry, or a flood), or a macvlan in bridge mode
 *   to a sibling macvlan of the same lower device;
 * - `pass-up`: a bridge passes the frame up to its own device: the node's stack receives it there;
 * - `leave`: it leaves the node on a wire;
 * - `deliver`: it reaches the pod.
 */
export type VerdictKind =
  | 'arrive'
  | 'route'
  | 'local'
  | 'no-route'
  | 'black-hole'
  | 'pass'
  | 'redirect'
  | 'tail-call'
  | 'accept'
  | 'drop'
  | 'reject'
  | 'queue'
  | 'unknown'
  | 'encapsulate'
  | 'decapsulate'
  | 'forward'
  | 'pass-up'
  | 'leave'
  | 'deliver'

/** Verdicts after which the packet goes nowhere: a renderer shows them as failures. */
export function endsThePacket(kind: VerdictKind): boolean {
  return kind === 'drop' || kind === 'reject' || kind === 'no-route' || kind === 'black-hole'
}

export type OutcomeKind = 'delivered' | 'dropped' | 'black-hole' | 'left-node' | 'local' | 'unknown'

export interface TraceOutcome {
  kind: OutcomeKind
  /** The step that decides it. */
  step?: number
  text: string
}
