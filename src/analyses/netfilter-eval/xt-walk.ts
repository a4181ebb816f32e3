/**
 * One iptables built-in chain, walked the way ipt_do_table does: rules in order, all matches must hold, -j pushes a
 * return point, -g does not, RETURN (or the end of a user chain) pops, and the built-in chain's policy applies
 * when the stack is empty. Terminal targets end the table; DROP/REJECT end the hook.
 */
import {applyMarkOp, type MarkOp} from '../../model/mark.js'
import {xtTargetIsTerminal, type XtChain, type XtModuleMatch, type XtRule, type XtRuleset, type XtTable, type XtTarget} from '../../model/netfilter.js'
import {parseIp} from './addr.js'
import {applyNat, bindNat, type NatSpec} from './nat.js'
import {walkChainStack, type StackMove} from './chain-stack.js'
import {chainsByName} from '../../model/chain-lookup.js'
import type {ChainOutcome, Walk} from './state.js'
import type {Engine, RuleHit} from './types.js'
import {evalXtMatch, isCoreMatch} from './xt-match.js'
import {statisticProbability} from './xt-matches/statistic.js'
import {deferredRules, LONG_CHAIN_RULES, type DeferredRules} from '../../model/deferred-rules.js'

export interface XtBaseChain {
  rs: XtRuleset
  table: XtTable
  chain: XtChain
}

export function xtEngine(rs: XtRuleset): Engine {
  return rs.family === 'ipv4' ? 'iptables' : 'ip6tables'
}

/** Targets that change nothing this evaluator models and never end traversal (the packet goes on). */
const PASSIVE_TARGETS = new Set(['TCPMSS', 'CLASSIFY', 'CHECKSUM', 'DSCP', 'TOS', 'TTL', 'HL', 'ECN', 'SET', 'AUDIT', 'IDLETIMER', 'LED', 'SECMARK', 'CONNSECMARK', 'TRACE', 'RATEEST', 'TCPOPTSTRIP', 'TEE', 'ULOG'])
/** Targets that end traversal in ways this evaluator does not model. */
const OPAQUE_TERMINAL_TARGETS = new Set(['SYNPROXY', 'NETMAP', 'CLUSTERIP', 'DNPT', 'SNPT', 'MIRROR'])

/**
 * Chains this long get a lazy index of the rules with an exact `-d ADDR/32` (kube-proxy's KUBE-SERVICES: one
 * per service port, 10k+ rules): a walk visits only the rules for the packet's destination plus the rest, in
 * order. The destination cannot change inside one table walk (NAT targets end it), so one list per visit is exact.
 * A chain whose rules nothing has read yet (a dump parsed lazily) is indexed from its lines as iptables prints them
 * (printedDestination), and only the rules the walk visits are built.
 */
/** A chain this long is indexed (one its parse left as lines is, from them: LONG_CHAIN_RULES). */
const INDEX_MIN_RULES = LONG_CHAIN_RULES

interface DstIndex {
  exact: Map<string, number[]>
  rest: number[]
}

const dstIndexes = new WeakMap<XtChain, DstIndex>()

/** The index key of an exact destination, `${width}/${value}`: undefined for anything else (negated, a prefix, a mask). */
function exactKey(address: string, prefixLen: number | undefined, family: XtRuleset['family']): string | undefined {
  const ip = parseIp(address)
  // An address of the other family is a parse problem, not a destination (iptables-save.ts parseAddress).
  if (!ip || ip.bits !== (family === 'ipv4' ? 32 : 128)) return undefined
  return (prefixLen ?? ip.bits) === ip.bits ? `${ip.bits}/${ip.v}` : undefined
}

function ruleKey(r: XtRule, family: XtRuleset['family']): string | undefined {
  const d = r.matches.find((m) => m.kind === 'destination')
  if (!d || d.kind !== 'destination' || d.negated || d.address.mask !== undefined) return undefined
  return exactKey(d.address.address, d.address.prefixLen, family)
}

/** The key of line i from its text where it is printed plainly, else from its rule, built for it. */
function lineKey(lazy: DeferredRules, i: number, family: XtRuleset['family']): string | undefined {
  const p = lazy.printedDestination(i)
  if (p === 'negated') return undefined
  if (p && (p.suffix === undefined || /^\d+$/.test(p.suffix))) return exactKey(p.address, p.suffix === undefined ? undefined : Number(p.suffix), family)
  return ruleKey(lazy.ruleAt(i), family)
}

function dstIndex(c: XtChain, lazy: DeferredRules | undefined, family: XtRuleset['family']): DstIndex {
  let idx = dstIndexes.get(c)
  if (idx) return idx
  idx = {exact: new Map(), rest: []}
  const n = lazy ? lazy.count : c.rules.length
  for (let i = 0; i < n; i++) {
    const key = lazy ? lineKey(lazy, i, family) : ruleKey(c.rules[i]!, family)
    if (key === undefined) idx.rest.push(i)
    else {
      const list = idx.exact.get(key)
      if (list) list.push(i)
      else idx.exact.set(key, [i])
    }
  }
  dstIndexes.set(c, idx)
  return idx
}

/** Rule indexes a packet to `dst` can match, in order; null for "every rule" (short chains). */
function candidates(c: XtChain, lazy: DeferredRules | undefined, dst: string, family: XtRuleset['family']): number[] | null {
  if ((lazy ? lazy.count : c.rules.length) < INDEX_MIN_RULES) return null
  const ip = parseIp(dst)
  if (!ip) return null
  const idx = dstIndex(c, lazy, family)
  const exact = idx.exact.get(`${ip.bits}/${ip.v}`) ?? []
  const out: number[] = []
  let i = 0
  let j = 0
  while (i < exact.length || j < idx.rest.length) {
    if (j >= idx.rest.length || (i < exact.length && exact[i]! < idx.rest[j]!)) out.push(exact[i++]!)
    else out.push(idx.rest[j++]!)
  }
  return out
}

/** What every step of one table walk needs to name and record a rule. */
class XtTableWalk {
  readonly engine: Engine
  constructor(
    readonly w: Walk,
    readonly rs: XtRuleset,
    readonly table: XtTable,
  ) {
    this.engine = xtEngine(rs)
  }

  where(r: XtRule): string {
    return `${this.engine} ${this.table.name}/${r.chain} #${r.position} (line ${r.line})`
  }

  /** The rule as a RuleHit with the marks as they are now. */
  ruleHit(r: XtRule, action: string): RuleHit {
    return {engine: this.engine, backend: this.rs.backend, table: this.table.name, chain: r.chain, position: r.position, line: r.line, raw: r.raw, action, markAfter: this.w.pkt.mark, ctmarkAfter: this.w.pkt.ctmark}
  }

  hit(r: XtRule, action: string): RuleHit {
    const h = this.ruleHit(r, action)
    this.w.trail.push(h)
    return h
  }
}

export function runXtChain(w: Walk, base: XtBaseChain): ChainOutcome {
  const {rs, table} = base
  const x = new XtTableWalk(w, rs, table)
  const {engine} = x
  const chains = chainsByName(table)
  const hit = (r: XtRule, action: string) => x.hit(r, action)
  const where = (r: XtRule) => x.where(r)
  const end = (outcome: ChainOutcome): StackMove<XtChain> => ({kind: 'end', outcome})
  const policy = (): ChainOutcome => {
    const c = base.chain
    const pol = (c.policy ?? 'ACCEPT').toUpperCase()
    const raw = rs.format === 'rule-spec' ? `-P ${c.name} ${pol}` : `:${c.name} ${pol}${c.counters ? ` [${c.counters.packets}:${c.counters.bytes}]` : ''}`
    const h: RuleHit = {engine, backend: rs.backend, table: table.name, chain: c.name, position: 0, raw, action: `${pol} (policy)`, markAfter: w.pkt.mark, ctmarkAfter: w.pkt.ctmark}
    if (c.line !== undefined) h.line = c.line
    w.trail.push(h)
    if (pol === 'DROP') return {verdict: 'drop', by: h, text: 'DROP (policy)'}
    if (pol !== 'ACCEPT') w.unknown(`${engine} ${table.name}/${c.name}: policy "${pol}" not understood: assumed ACCEPT`)
    return {verdict: 'accept', by: h, text: 'ACCEPT (policy)'}
  }
  /** Rule indexes in visiting order: every rule, or for a long chain only those the destination can match. */
  const rules = (chain: XtChain): (() => number | undefined) => {
    const order = candidates(chain, deferredRules(chain), w.pkt.dst, rs.family)
    let k = 0
    return () => (order ? order[k++] : k < chain.rules.length ? k++ : undefined)
  }
  const run = (chain: XtChain, idx: number): StackMove<XtChain> => {
    // A chain read only in part is still unread: its rule is built alone (table-builder.ts deferredRules).
    const rule = deferredRules(chain)?.ruleAt(idx) ?? chain.rules[idx]!
    if (!ruleHolds(x, rule, chain, idx)) return NEXT
    const t = rule.target
    if (!t) {
      hit(rule, '(no target: counts only)')
      return NEXT
    }
    if (t.uninterpreted?.length) w.unknown(`${where(rule)}: -j ${t.name} option${t.uninterpreted.length > 1 ? 's' : ''} ${t.uninterpreted.map((o) => `--${o}`).join(' ')} not evaluated: assumed no effect`)
    switch (t.kind) {
      case 'jump':
      case 'goto': {
        const next = chains.get(t.chain)
        const h = hit(rule, `${t.kind} ${t.chain}`)
        if (!next) {
          w.unknown(`${where(rule)}: ${t.kind === 'jump' ? '-j' : '-g'} ${t.chain}: no such chain in the dump: assumed it returns`)
          return NEXT
        }
        return t.kind === 'goto' ? {kind: 'goto', chain: next} : {kind: 'jump', chain: next, by: h}
      }
      case 'return':
        hit(rule, 'RETURN')
        return {kind: 'return'}
      case 'accept':
        return end({verdict: 'accept', by: hit(rule, 'ACCEPT'), text: 'ACCEPT'})
      case 'drop':
        return end({verdict: 'drop', by: hit(rule, 'DROP'), text: 'DROP'})
      case 'reject':
        return end({verdict: 'reject', by: hit(rule, `REJECT${t.rejectWith ? ` --reject-with ${t.rejectWith}` : ''}`), text: 'REJECT'})
      case 'queue':
        w.unknown(`${where(rule)}: QUEUE hands the packet to a user-space program, whose verdict is not known`)
        return end({verdict: 'queue', by: hit(rule, 'QUEUE'), text: 'QUEUE'})
      case 'mark':
      case 'connmark': {
        // CONNMARK needs a conntrack entry; after NOTRACK there is none and the target does nothing.
        if (t.kind === 'mark' || !w.untracked) applyMark(w, t.op)
        hit(rule, targetText(rule))
        return NEXT
      }
      case 'log':
      case 'nflog':
        hit(rule, targetText(rule))
        return NEXT
      case 'notrack':
        w.setCt('untracked')
        hit(rule, 'NOTRACK')
        return NEXT
      case 'ct':
        if (t.notrack) w.setCt('untracked')
        // CT --zone N: the entry is looked up and created in zone N (nf_ct_zone_tmpl).
        else if (t.zone !== undefined && /^\d+$/.test(String(t.zone))) w.pkt.ct = {...(w.pkt.ct ?? {}), zone: Number(t.zone)}
        hit(rule, targetText(rule))
        return NEXT
      case 'tproxy': {
        // TPROXY: a matching socket gets the packet (mark set, NF_ACCEPT); no socket → NF_DROP.
        w.unknown(`${where(rule)}: TPROXY needs a socket listening on ${t.onIp ?? '0.0.0.0'}:${t.onPort ?? '?'}: assumed one is (mark set, packet accepted)`)
        if (t.mark) applyMark(w, {kind: 'set-xmark', target: 'packet', value: t.mark.value, mask: t.mark.mask})
        return end({verdict: 'accept', by: hit(rule, targetText(rule)), text: 'ACCEPT (TPROXY)'})
      }
      case 'dnat':
      case 'snat':
      case 'masquerade':
      case 'redirect': {
        const {action, change} = applyNat(w, natSpec(t), where(rule))
        const h = hit(rule, action)
        if (change) bindNat(w, change, h)
        // The NAT targets return NF_ACCEPT: the rest of this table is not evaluated.
        return end({verdict: 'accept', by: h, text: action})
      }
      case 'other': {
        if (t.name === 'NFQUEUE') {
          w.unknown(`${where(rule)}: NFQUEUE hands the packet to a user-space program, whose verdict is not known`)
          return end({verdict: 'queue', by: hit(rule, targetText(rule)), text: 'QUEUE'})
        }
        if (OPAQUE_TERMINAL_TARGETS.has(t.name) || xtTargetIsTerminal(t)) {
          const h = hit(rule, targetText(rule))
          w.unknown(`${where(rule)}: -j ${t.name} not evaluated: traversal stops here`)
          return end({verdict: 'unknown', by: h, text: `UNKNOWN: -j ${t.name}`})
        }
        if (!PASSIVE_TARGETS.has(t.name)) w.unknown(`${where(rule)}: -j ${t.name} not evaluated: assumed the packet goes on unchanged`)
        hit(rule, targetText(rule))
        return NEXT
      }
    }
  }
  return walkChainStack(w, {base: base.chain, rules, run, policy})
}

const NEXT = {kind: 'next'} as const

function applyMark(w: Walk, op: MarkOp): void {
  const s = applyMarkOp(op, {packet: w.pkt.mark, conntrack: w.pkt.ctmark})
  w.pkt.mark = s.packet
  w.pkt.ctmark = s.conntrack
}

function natSpec(t: Extract<XtTarget, {kind: 'dnat' | 'snat' | 'masquerade' | 'redirect'}>): NatSpec {
  const spec: NatSpec = {kind: t.kind}
  if (t.kind === 'dnat' || t.kind === 'snat') {
    if (t.to?.addressFrom !== undefined) spec.addrFrom = t.to.addressFrom
    if (t.to?.addressTo !== undefined) spec.addrTo = t.to.addressTo
    if (t.to?.ports) {
      spec.portFrom = t.to.ports.from
      spec.portTo = t.to.ports.to
    }
  } else if (t.toPorts) {
    spec.portFrom = t.toPorts.from
    spec.portTo = t.toPorts.to
  }
  if (t.random || (t.kind !== 'dnat' && t.kind !== 'redirect' && t.randomFully)) spec.randomPort = true
  return spec
}

/** The target as written after -j / -g: `MARK --set-xmark 0x4000/0x4000`, `LOG --log-prefix "x "`. */
function targetText(r: XtRule): string {
  const i = Math.max(r.raw.lastIndexOf(' -j '), r.raw.lastIndexOf(' --jump '))
  if (i < 0) return r.target?.name ?? ''
  return r.raw.slice(r.raw.indexOf(' ', i + 1) + 1).trim()
}

function isStatistic(m: {kind: string}): m is Extract<XtModuleMatch, {kind: 'statistic'}> {
  return m.kind === 'statistic'
}

/**
 * Do all the rule's matches hold? Core matches first (the kernel's ip_packet_match), then the extensions in the
 * order written, stopping at the first that fails: unknowns are recorded only for matches the kernel would reach.
 * An unforced statistic match on a rule whose other matches hold opens a branch point.
 */
function ruleHolds(x: XtTableWalk, r: XtRule, chain: XtChain, idx: number): boolean {
  const stats = r.matches.filter(isStatistic)
  if (stats.length > 0 && stats.some((s) => !x.w.forced.has(s))) {
    if (!evalMatches(x, r, true, true)) return false
    openBranchPoint(x, chain, idx)
  }
  return evalMatches(x, r, false, true)
}

function evalMatches(x: XtTableWalk, r: XtRule, skipStatistic: boolean, record: boolean): boolean {
  for (const core of [true, false]) {
    for (const m of r.matches) {
      if (isCoreMatch(m) !== core) continue
      if (skipStatistic && m.kind === 'statistic') continue
      const e = evalXtMatch(m, x.w)
      if (e.unknown && record) x.w.unknown(`${x.where(r)}: ${e.unknown}`)
      if (!e.ok) return false
    }
  }
  return true
}

/** Does a rule's target leave the chain for good, or for a chain that decides (so later rules are alternatives)? */
function leaves(t: XtTarget | undefined): boolean {
  return t !== undefined && (t.kind === 'jump' || t.kind === 'goto' || xtTargetIsTerminal(t))
}

/**
 * kube-proxy's endpoint choice: `-m statistic --mode random --probability 0.333 -j KUBE-SEP-A`, then 0.5 → B, then
 * C unconditionally. From the first statistic rule whose other matches hold, every later rule the packet could
 * take is an alternative, with the chance of reaching it times its own probability (1/3, 2/3·1/2, 1/3).
 * ctx.branch picks one; the statistic matches are then fixed for this walk.
 */
function openBranchPoint(x: XtTableWalk, chain: XtChain, start: number): void {
  const w = x.w
  const alts: Array<{idx?: number; p: number}> = []
  const scanned: Array<{idx: number; r: XtRule}> = []
  let rest = 1
  for (let k = start; k < chain.rules.length && rest > 1e-12; k++) {
    const r = chain.rules[k]!
    if (!evalMatches(x, r, true, false)) continue
    const stats = r.matches.filter(isStatistic)
    if (stats.length > 0) {
      scanned.push({idx: k, r})
      const p = stats.reduce((acc, s) => acc * statisticProbability(s), 1)
      alts.push({idx: k, p: rest * p})
      rest *= 1 - p
    } else if (leaves(r.target)) {
      alts.push({idx: k, p: rest})
      rest = 0
    }
  }
  if (rest > 1e-12) alts.push({p: rest})
  const first = chain.rules[start]!
  const chosen = w.pickBranch(alts.length, x.where(first))
  const takenIdx = alts[chosen]!.idx
  for (const {idx, r} of scanned) for (const s of r.matches.filter(isStatistic)) w.forced.set(s, idx === takenIdx)
  alts.forEach((a, i) => {
    const r = a.idx === undefined ? first : chain.rules[a.idx]!
    const t = r.target
    const action = a.idx === undefined ? 'fall through' : t?.kind === 'jump' || t?.kind === 'goto' ? `${t.kind} ${t.chain}` : t ? targetText(r) : '(no target)'
    const leadsTo = a.idx === undefined ? 'fall through (no alternative matched)' : t?.kind === 'jump' || t?.kind === 'goto' ? t.chain : action
    w.branches.push({at: x.ruleHit(r, action), probability: a.p, taken: i === chosen, leadsTo})
  })
}
