import type {NodeState} from '../../model/node-state.js'
import {hex} from '../../model/mark.js'
import type {Hook} from '../../model/netfilter.js'
import type {Conntrack, HookTable, StepRule, Tuple} from '../../model/path.js'
import type {Packet} from './packet.js'
import type {PathRecorder} from './path-recorder.js'

/** Netfilter at one hook, as the evaluator (analyses/netfilter-eval) answers it. */
export interface NetfilterVerdict {
  verdict: 'accept' | 'drop' | 'reject' | 'queue' | 'unknown'
  tuple: Tuple
  mark: number
  /** The conntrack entry after the hook (state, zone, ct mark, NAT bound). */
  ct: Conntrack
  rules: StepRule[]
  /** Every table at the hook, in the order the kernel runs them. */
  tables: HookTable[]
  nat?: string
  branches: string[]
  unknowns: string[]
  /** Assumptions that hold for the whole hook (conntrack state NEW, …). */
  notes?: string[]
}

/** The evaluator of one hook's rules (netfilter-deps.ts: the node's iptables and nft rules against the packet). */
export type EvaluateHook = (node: NodeState, hook: Hook, pkt: {tuple: Tuple; mark: number; ct?: Conntrack; iif?: string; oif?: string; reversePath?: {dev?: string}}, masqueradeAddress?: string) => NetfilterVerdict | undefined

/** A rule that decides or changes something: not a jump, a RETURN or a chain's accepting policy. */
const decides = (x: StepRule) => !/^(jump|goto) /.test(x.action) && !(x.position === 0 && /^ACCEPT/.test(x.action)) && x.action !== 'RETURN'

/**
 * Netfilter at every hook the walk passes: the rules evaluated against the packet's outermost header, one step
 * per hook with every table in the kernel's order and the rule that decided (or "no rule matched: policy
 * ACCEPT"). The conntrack entry is the packet's (packet.ts): boundaries (boundaries.ts) reset it, not this file.
 * Without an evaluator, each hook is unseen.
 */
export class NetfilterSteps {
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
    const r = this.evaluate(node, hook, {tuple: target, mark: pkt.mark, ...(pkt.ct ? {ct: pkt.ct} : {}), ...ifs}, masq)
    if (!r) return true
    pkt.ct = r.ct
    if (pkt.outer) pkt.outer = {...pkt.outer, ...r.tuple}
    else pkt.tuple = r.tuple
    pkt.mark = r.mark
    const decisive = r.rules.filter(decides)
    const what = decisive.length
      ? decisive.map((x) => `${x.table}/${x.chain} #${x.position}: ${x.action}`).join('; ')
      : r.tables.length === 0
        ? `no table has a base chain at ${hook}: the packet passes`
        : `no rule matched: policy ${r.verdict === 'accept' ? 'ACCEPT' : r.verdict.toUpperCase()}`
    this.rec.push(node, {
      kind: 'netfilter',
      where: {hook: `netfilter ${hook}`, ...(ifs.iif ? {device: ifs.iif} : ifs.oif ? {device: ifs.oif} : {})},
      what,
      verdict: r.nat ? `${r.verdict.toUpperCase()} (${r.nat})` : r.verdict.toUpperCase(),
      verdictKind: r.verdict,
      pkt,
      evidence: r.unknowns.length || pkt.markUnknown ? 'assumed' : 'rule',
      details: [
        ...(r.notes ?? []).filter((n) => this.saidOnce(node, n)),
        ...r.unknowns.map((u) => `unknown: ${u}`),
        ...(pkt.markUnknown ? [`skb->mark bits ${hex(pkt.markUnknown)} are not known (a program wrote them): the rules saw them as 0 (assumed)`] : []),
      ],
      // Jumps stay for the record; accepting policies are in `tables`.
      rules: r.rules.filter((x) => !(x.position === 0 && /^ACCEPT/.test(x.action))),
      tables: r.tables,
      branches: r.branches,
    })
    if (r.verdict === 'drop' || r.verdict === 'reject') {
      this.rec.end('dropped', `dropped by netfilter ${hook} on ${node.label}: ${decisive[decisive.length - 1]?.raw ?? 'chain policy'}`)
      return false
    }
    return true
  }
}
