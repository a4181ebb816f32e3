/**
 * What `evaluateHook` takes and returns: one packet, one hook, every table registered there. Plain JSON data.
 */
import type {Hook, XtBackend} from '../../model/netfilter.js'


export interface PacketState {
  family: 'ipv4' | 'ipv6'
  src: string
  dst: string
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'sctp' | string
  sport?: number
  dport?: number
  /** A source NAT picked the source port at random: sport is the original (model/path.ts Tuple). */
  sportRandom?: true
  mark: number
  ctmark: number
  /** Input device (prerouting, input, forward). */
  iif?: string
  /** Output device (forward, output, postrouting). */
  oif?: string
  /**
   * The kernel's route back to the packet's source (`ip route get SRC`), where the caller asked it: `dev` absent
   * when there is none. -m rpfilter decides with it (kn-22); absent, it assumes the check passes.
   */
  reversePath?: {dev?: string}
  /** ICMP/ICMPv6 type; absent: an echo request (8 / 128) is assumed and said so. */
  icmpType?: number
  /**
   * What the connection's conntrack entry already knows from earlier hooks. evaluateHook sets it (DNAT, SNAT,
   * NOTRACK), so passing one hook's `packet` to the next hook carries it on. Absent: nothing happened yet.
   */
  ct?: {
    dnat?: boolean
    snat?: boolean
    untracked?: boolean
    /** A reply of a connection conntrack already holds (ESTABLISHED, reply direction: `trace --reply`, kn-20). */
    established?: boolean
    zone?: number
    /** The nat core already ran for this manip type at an earlier hook (a binding or a null one): its chains do not run again. */
    natSetUp?: {dst?: boolean; src?: boolean}
  }
}

export interface EvalContext {
  hook: Hook
  /** Addresses of this netns (addrtype LOCAL, `fib daddr type local`). */
  localAddresses: string[]
  /** The address MASQUERADE would pick on oif (the caller asks the kernel's route lookup for it). */
  masqueradeAddress?: string
  /** ipset contents where known (`ipset list`); a set that is absent is "unknown", never guessed. */
  ipsets?: Map<string, {type: string; members: string[]}>
  /**
   * Which statistic/numgen alternative to take at each branch point (0-based, in rule order); default 0, the
   * first. Every alternative is reported in `branches` whichever is taken.
   */
  branch?: number
}

export type Engine = 'iptables' | 'ip6tables' | 'nft'

export interface RuleHit {
  engine: Engine
  backend?: XtBackend
  /** 'nat', or for nft 'ip kube-proxy'. */
  table: string
  chain: string
  /** 1-based in its chain; 0 for a chain policy. */
  position: number
  /** iptables-save line. */
  line?: number
  /** nft handle. */
  handle?: number
  /** The rule as printed (iptables-save line; for nft a readable rendering of expr). */
  raw: string
  /**
   * What the rule did, in one vocabulary for both engines: 'jump KUBE-SVC-…', 'goto …', 'MARK --set-xmark 0x4000/0x4000',
   * 'meta mark set meta mark | 0x4000', 'DNAT to 10.42.0.51:80', 'MASQUERADE', 'ACCEPT', 'RETURN', 'DROP (policy)'.
   */
  action: string
  markAfter: number
  ctmarkAfter: number
}

/** One alternative at a statistic/numgen branch point, e.g. statistic 0.333 → KUBE-SEP-…. */
export interface Branch {
  at: RuleHit
  /** The chance this alternative is the one taken (kube-proxy's 3 endpoints: 1/3 each). */
  probability: number
  taken: boolean
  /** The chain it jumps/goes to, or the action ('DNAT to …', 'fall through'). */
  leadsTo: string
}

export interface TableResult {
  engine: Engine
  backend?: XtBackend
  table: string
  /** The base chain (built-in chain for iptables). */
  chain: string
  /** Its declared netfilter priority (nat chains all run inside the nat core at -100 / 100: see `notes`). */
  priority: number
  /**
   * 'ACCEPT', 'ACCEPT (policy)', 'DROP', 'DROP (policy)', 'REJECT', 'QUEUE', 'UNKNOWN: …', or for a chain that did
   * not run: 'skipped: …' (nat already bound, untracked) and 'not reached: …' (an earlier table ended the hook).
   */
  verdict: string
  /** The rule or policy that ended this base chain (absent when it did not run). */
  decidedBy?: RuleHit
}

export interface NatChange {
  kind: 'dnat' | 'snat' | 'masquerade' | 'redirect'
  before: {addr: string; port?: number}
  after: {addr: string; port?: number}
  by: RuleHit
}

export interface HookResult {
  verdict: 'accept' | 'drop' | 'reject' | 'queue' | 'unknown'
  /** The rule (or chain policy, position 0) that ended traversal with a drop/reject/queue, or the last accept. */
  decidedBy?: RuleHit
  /** After MARK/CONNMARK/DNAT/SNAT/MASQUERADE/REDIRECT. */
  packet: PacketState
  nat?: NatChange
  /** Every rule that matched, in evaluation order, across tables (jumps and chain policies included). */
  trail: RuleHit[]
  /** Each table/base chain registered at this hook, in the order the kernel runs them. */
  tables: TableResult[]
  branches: Branch[]
  /** Matches and statements that could not be evaluated, where, and what was assumed. */
  unknowns: string[]
  /** Assumptions about the packet and the kernel that hold for the whole evaluation (conntrack state NEW, …). */
  notes: string[]
  /** Rules examined, matched or not: the cost of this answer (a kube-proxy service lookup stays small at 10k services). */
  rulesVisited: number
}
