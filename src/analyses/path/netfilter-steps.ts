import type {NodeState} from '../../model/node-state.js'
import {hex} from '../../model/mark.js'
import type {Hook} from '../../model/netfilter.js'
import type {StepRule, Tuple} from '../../model/path.js'
import type {ConntrackState, Packet} from './packet.js'
import type {PathRecorder} from './path-recorder.js'

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

/** The evaluator of one hook's rules (netfilter-deps.ts: the node's iptables and nft rules against the packet). */
export type EvaluateHook = (node: NodeState, hook: Hook, pkt: {tuple: Tuple; mark: number; ctmark: number; ct?: ConntrackState; iif?: string; oif?: string}, masqueradeAddress?: string) => NetfilterVerdict | undefined

/**
 * Netfilter at the hooks the walk passes: the rules evaluated against the packet, a step where they change or
 * decide something, conntrack carried from hook to hook on one node. Without an evaluator, each hook is unseen.
 */
export class NetfilterSteps {
  private ctNode: NodeState | undefined
  private said = new Set<string>()

  constructor(
    private readonly rec: PathRecorder,
    private readonly evaluate: EvaluateHook | undefined,
  ) {}

  /** True the first time a note is given for a node: assumptions are stated once, not at every hook. */
  private saidOnce(node: NodeState, note: string): boolean {
    const k = `${node.label}|${note}`
    if (this.said.has(k)) return false
    this.said.add(k)
    return true
  }

  /** Run one netfilter hook; false when it ends the walk (drop). Not recorded / not evaluable: said once. */
  run(node: NodeState, hook: Hook, pkt: Packet, ifs: {iif?: string; oif?: string}, masq?: string): boolean {
    const hasRules = node.xt.some((r) => r.tables.length > 0) || (node.nft?.length ?? 0) > 0
    if (!hasRules) return true
    if (!this.evaluate) {
      this.rec.unseen.push(`${node.label}: netfilter ${hook} not evaluated`)
      return true
    }
    const target = pkt.outer ?? pkt.tuple
    // Conntrack is per netns: a packet arriving on another node starts a new entry there.
    if (this.ctNode !== node) {
      this.ctNode = node
      pkt.ct = undefined
      pkt.ctmark = 0
    }
    const r = this.evaluate(node, hook, {tuple: target, mark: pkt.mark, ctmark: pkt.ctmark, ...(pkt.ct ? {ct: pkt.ct} : {}), ...ifs}, masq)
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
    this.rec.push(node, {
      kind: 'netfilter',
      where: {hook: `netfilter ${hook}`, ...(ifs.iif ? {device: ifs.iif} : ifs.oif ? {device: ifs.oif} : {})},
      what: decisive.length ? decisive.map((x) => `${x.table}/${x.chain} #${x.position}: ${x.action}`).join('; ') : `${hook}: no rule changes it`,
      verdict: r.nat ? `${r.verdict.toUpperCase()} (${r.nat})` : r.verdict.toUpperCase(),
      verdictKind: r.verdict,
      pkt,
      evidence: r.unknowns.length || pkt.markUnknown ? 'assumed' : 'rule',
      details: [
        ...(r.notes ?? []).filter((n) => this.saidOnce(node, n)),
        ...r.unknowns.map((u) => `unknown: ${u}`),
        ...(pkt.markUnknown ? [`skb->mark bits ${hex(pkt.markUnknown)} are not known (a program wrote them): the rules saw them as 0 (assumed)`] : []),
      ],
      rules: r.rules.filter((x) => !(x.position === 0 && /^ACCEPT/.test(x.action))),
      branches: r.branches,
    })
    if (r.verdict === 'drop' || r.verdict === 'reject') {
      this.rec.end('dropped', `dropped by netfilter ${hook} on ${node.label}: ${decisive[decisive.length - 1]?.raw ?? 'chain policy'}`)
      return false
    }
    return true
  }
}
