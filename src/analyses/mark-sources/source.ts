import type {TcFilter} from '../../model/hooks.js'
import type {NftTable, XtRuleset} from '../../model/netfilter.js'
import type {IpRule} from '../../model/routing.js'
import type {SsSocket} from '../../model/socket.js'
import type {XfrmPolicy, XfrmState} from '../../model/xfrm.js'
import type {ProgramSummary} from '../../model/program-summary.js'
import type {MarkUsage} from '../mark-usage.js'
import type {UsageIds} from './usage.js'

export interface AttachedProgram {
  progId: number
  progName?: string
  /** `tc ingress lxc48c4aa0637ce`, `tcx egress eth0`… */
  hooks: string[]
  /** Software of a recognised program (knowledge/programs.ts), for attribution. */
  software?: string
}

/** What the mark sources read of a node: each source names the fields it uses (MarkSource.reads). */
export interface MarkFacts {
  /** iptables/ip6tables dumps (nft and legacy backends); a dump parsed for marks builds only its mark rules. */
  xt: readonly XtRuleset[]
  /** Native nft tables (iptables-nft's own are read through iptables-save); absent when not read. */
  nft?: readonly NftTable[]
  ipRules: readonly IpRule[]
  xfrmStates: readonly XfrmState[]
  xfrmPolicies: readonly XfrmPolicy[]
  /** tc filters that are not eBPF programs. */
  tcFilters: readonly TcFilter[]
  sockets: readonly SsSocket[]
  /** eBPF programs on the hooks, each with what its instructions do to skb->mark. */
  programs: ReadonlyArray<{program: AttachedProgram; access: ProgramSummary}>
}

/**
 * One place on a node where marks are set, cleared, compared or routed on. Each use it yields carries its own
 * location text (MarkLocation.text), so no reader needs to know the subsystem.
 */
export interface MarkSource {
  /** As MarkUsage.subsystem names its uses' origin, e.g. `iptables` for all four iptables dumps. */
  id: string
  reads: ReadonlyArray<keyof MarkFacts>
  usages(facts: MarkFacts, ids: UsageIds): MarkUsage[]
}
