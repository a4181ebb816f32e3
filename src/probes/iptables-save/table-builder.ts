import {xtBuiltinChain, type Counters, type IpFamily, type XtChain, type XtRule, type XtTable} from '../../model/netfilter.js'
import type {ParseProblem} from '../../model/warning.js'
import {problem} from '../parsed.js'
import {KNOWN_TARGETS} from './targets/registry.js'
import {quotesClose} from './tokenizer.js'
import {printedDestination} from './printed-destination.js'
import {LONG_CHAIN_RULES, registerDeferredRules, type DeferredRules} from '../../model/deferred-rules.js'
import {registerXtChainGraph} from '../../model/chain-graph.js'
import {registerChainLookup} from '../../model/chain-lookup.js'
import {UnbuiltRules} from './unbuilt-rules.js'

export const COUNTERS_RE = /^\[(\d+):(\d+)\]$/

/** A rule's -j/-g to a chain the table does not have, as the parse reports it (at once, or when built later). */
export function noSuchChain(t: {kind: 'jump' | 'goto'; chain: string}, table: string): string {
  return `${t.kind === 'goto' ? '-g' : '-j'} ${t.chain}: no such chain in table ${table}`
}

/**
 * A user chain's `[0:0]`: one object for all of them (40k in a kube-proxy dump, each one fewer object for the collector
 * to copy while the parse runs). Counters are set, never changed in place: frozen, so a change would throw.
 */
const NO_COUNTERS: Counters = Object.freeze({packets: 0, bytes: 0})

/**
 * The rules of a chain with none built yet: one array for all of them (a marks parse of a kube-proxy dump builds the
 * rules of one or two of its 40k chains), replaced by the chain's own on its first rule (TableBuilder.ownRules).
 * Frozen, so a push that bypassed ownRules would throw rather than give every chain the rule.
 */
const NO_RULES: XtRule[] = Object.freeze([]) as unknown as XtRule[]

/** How many chains declared after the last rule's nextDeclaredRuleChainAt compares before it hashes the name. */
const NEXT_CHAINS_TRIED = 4

/** A chain's name as iptables-save prints it in an `-A` line's chain word: not empty or an option, no quote or tab. */
const plainChainName = (name: string): boolean => name !== '' && name.charCodeAt(0) !== 45 && name.indexOf('"') === -1 && name.indexOf('\t') === -1

/** How iptables-save ends a user chain's declaration: no policy, no counters yet. */
export const USER_CHAIN_TAIL = ' - [0:0]'

/**
 * Builds the rules of `lines` (each an `-A` line of `chain`) and appends them to `into`. `built[i]`, where set, is
 * line i's rule built before (by DeferredRules.ruleAt): appended as it is, or for null (a line that did not
 * tokenize, its problem already reported) nothing.
 */
export type DeferredBuild = (table: TableBuilder, chain: XtChain, lines: readonly string[], lineNos: readonly number[], into: XtRule[], built?: ReadonlyArray<XtRule | null | undefined>) => void

/** Consecutive lines of one piece of the dump's text: text.slice(from, to), the first of them line number `firstLineNo`. */
interface LineRun {
  text: string
  from: number
  to: number
  firstLineNo: number
}

export interface Deferred {
  chain: XtChain
  /**
   * The lines as they lie in the dump's pieces of text, not yet cut out: the latest run of them, and the runs before
   * it (a chain's lines split between two pieces, or printed in two places). Fields, not arrays, for the latest: a
   * kube-proxy dump has 40k chains of one run each.
   */
  run: LineRun | undefined
  earlier: LineRun[] | undefined
  count: number
  /** The lines and their numbers, once cut out (linesOf). */
  lines?: string[]
  lineNos?: number[]
  /** How many rules the chain had when these lines began to be kept (rules built at once before them). */
  before: number
  /** Rules built one at a time (DeferredRules.ruleAt), by line. */
  built?: Array<XtRule | null | undefined>
  /** Whether every line tokenizes (so line i is the rule at position i + 1), once asked. */
  aligned?: boolean
}

/** Keep the line [from, to) of `text` in `d`: a line right after the chain's last one in the same text extends its run. */
export function deferLine(d: Deferred, text: string, from: number, to: number, lineNo: number): void {
  d.count++
  if (d.lines !== undefined && d.lineNos !== undefined) {
    // Cut out already (a reader asked before the dump ended): the line joins them.
    d.lines.push(text.slice(from, to))
    d.lineNos.push(lineNo)
    return
  }
  const run = d.run
  if (run !== undefined && run.text === text && run.to === from - 1) {
    run.to = to
    return
  }
  if (run !== undefined) (d.earlier ??= []).push(run)
  d.run = {text, from, to, firstLineNo: lineNo}
}

/** A deferred chain's lines and their numbers, cut out of the dump's text on first need. */
function linesOf(d: Deferred): {lines: string[]; lineNos: number[]} {
  if (d.lines === undefined || d.lineNos === undefined) {
    const lines: string[] = []
    const lineNos: number[] = []
    const runs = d.earlier ?? []
    if (d.run !== undefined) runs.push(d.run)
    for (const {text, from: start, to, firstLineNo} of runs) {
      let n = firstLineNo
      for (let from = start; ; n++) {
        const nl = text.indexOf('\n', from)
        const end = nl === -1 || nl > to ? to : nl
        lines.push(text.slice(from, end))
        lineNos.push(n)
        if (end === to) break
        from = end + 1
      }
    }
    d.lines = lines
    d.lineNos = lineNos
    // The pieces of text are no longer held for this chain.
    d.run = undefined
    d.earlier = undefined
  }
  return {lines: d.lines, lineNos: d.lineNos}
}

/**
 * A chain of a lazy parse (IptablesSaveOptions.lazy): `rules` builds the lines deferred for it on the first read
 * (TableBuilder.rulesOf). One class, so its getter is one function for all 40k chains of a kube-proxy dump: an
 * accessor in an object literal made a context, two closures and an accessor pair per chain, ~0.03 s of a `trace`
 * and more of its collector's time; one added by Object.defineProperty costs ~0.15 s and slows every later access.
 * Its table and rules are private fields, which neither JSON, a spread nor a comparison of its fields sees: only
 * `rules` is not an own property, as a reader that copies a chain must know (`{...c, rules: c.rules}`).
 */
class LazyXtChain implements XtChain {
  readonly #table: TableBuilder
  readonly #rules: XtRule[] = []
  constructor(
    readonly name: string,
    public builtin: boolean,
    public line: number,
    table: TableBuilder,
  ) {
    this.#table = table
  }

  get rules(): XtRule[] {
    return this.#table.rulesOf(this, this.#rules)
  }
}

/** One `*table … COMMIT` block (or the one table of `iptables -S` output) as its lines arrive. */
export class TableBuilder {
  committed = false
  /** Rules whose -j/-g chain was not known when they were read (checked when the table ends). */
  readonly unresolved: XtRule[] = []
  /** Chains where -I shifted positions. */
  readonly renumber = new Set<XtChain>()
  /** The chains by name, numbered in the order they were first seen (the table's chain order), and by number. */
  private readonly ids = new Map<string, number>()
  private readonly list: XtChain[] = []
  /** Per chain number (dense: one entry per chain): the record of its rules not built (onlyMarkRules), once it has one. */
  private readonly unbuilt: Array<UnbuiltRules | undefined> = []
  private unbuiltCount = 0
  /** Per chain number, the serial of the last UnbuiltRules that kept a jump to it (dedupe in O(1)). */
  private readonly jumpedFrom: number[] = []
  /** The chain the last rule not built was counted in (iptables-save prints a chain's rules together). */
  private lastUnbuiltChain: XtChain | undefined
  private lastRuleChain: XtChain | undefined
  /** lastRuleChain's number, where known (-1: not known). */
  private lastRuleChainId = -1
  private lastUnbuilt: UnbuiltRules | undefined
  /** deferredRulesOf, once for every lazy chain of the table. */
  private readonly ownDeferred = (c: XtChain): DeferredRules | undefined => this.deferredRulesOf(c)
  /** Lines kept per chain until its rules are read (lazy mode). */
  private readonly deferred = new Map<XtChain, Deferred>()
  /** The chain the last deferred line went to (iptables-save prints a chain's rules together). */
  private lastDeferred: Deferred | undefined
  constructor(
    readonly name: string,
    readonly line: number | undefined,
    readonly family: IpFamily,
    /** Set when rules are built on first read (IptablesSaveOptions.lazy). */
    private readonly buildDeferred?: DeferredBuild,
  ) {}

  /**
   * An `-A` line, [from, to) of `text`, kept as it is, built when the chain's `rules` is first read (the getter
   * ensure() gives a chain in lazy mode), after the rules built so far: the dump's order is kept. The line is not
   * cut out of the text: a line right after the chain's last one in the same text extends its run.
   */
  deferRule(c: XtChain, text: string, from: number, to: number, lineNo: number): void {
    deferLine(this.deferredFor(c), text, from, to, lineNo)
  }

  /** The record of `c`'s deferred lines, for a line about to be kept in it (deferLine). */
  deferredFor(c: XtChain): Deferred {
    let d = this.lastDeferred
    if (d === undefined || d.chain !== c) {
      d = this.deferred.get(c)
      // Nothing is deferred for c now, so reading its rules builds nothing: it counts what was built at once.
      if (d === undefined) this.deferred.set(c, (d = {chain: c, run: undefined, earlier: undefined, count: 0, before: c.rules.length}))
      this.lastDeferred = d
    }
    return d
  }

  declare(trimmed: string, lineNo: number, raw: string, problems: ParseProblem[], probe: string): void {
    // `:PREROUTING ACCEPT [320:53261]` or `:ISTIO_OUTPUT - [0:0]` (counters absent in hand-written restore files)
    if (trimmed.endsWith(USER_CHAIN_TAIL)) {
      // A user chain as iptables-save declares it (40k at kube-proxy scale): the name, read without splitting.
      const name = trimmed.slice(1, trimmed.length - USER_CHAIN_TAIL.length)
      if (name !== '' && name.indexOf(' ') === -1 && name.indexOf('\t') === -1) {
        if (!this.declareUserChain(name, lineNo)) {
          problems.push(problem(probe, `chain ${name} declared twice`, lineNo, raw))
          this.ensure(name, lineNo, false).counters = NO_COUNTERS
        }
        return
      }
    }
    const parts = declarationWords(trimmed)
    const name = parts[0] ?? ''
    const policy = parts[1]
    if (name === '' || policy === undefined || parts.length > 3) {
      problems.push(problem(probe, 'bad chain declaration', lineNo, raw))
      if (name === '') return
    }
    if (this.ids.has(name)) problems.push(problem(probe, `chain ${name} declared twice`, lineNo, raw))
    const c = this.ensure(name, lineNo, policy !== undefined && policy !== '-')
    if (policy !== undefined && policy !== '-') c.policy = policy
    const cnt = parts[2]
    if (cnt === '[0:0]') c.counters = NO_COUNTERS
    else if (cnt !== undefined) {
      const m = COUNTERS_RE.exec(cnt)
      if (m) c.counters = {packets: Number(m[1]), bytes: Number(m[2])}
      else problems.push(problem(probe, `bad chain counters "${cnt}"`, lineNo, raw))
    }
  }

  /**
   * A user chain declared as iptables-save declares it (`:NAME - [0:0]`), new: false, and nothing done, when `name`
   * was declared or used before (declare reports it).
   */
  declareUserChain(name: string, lineNo: number): boolean {
    if (this.ids.has(name)) return false
    this.add(name, lineNo, false, NO_COUNTERS)
    return true
  }

  policy(name: string, rest: string[], lineNo: number, raw: string, problems: ParseProblem[], probe: string): void {
    // `-P INPUT ACCEPT` or, from `iptables -S -v`, `-P INPUT ACCEPT -c 0 0`
    const c = this.ensure(name, lineNo, true)
    const pol = rest[0]
    if (pol === undefined) problems.push(problem(probe, '-P without a policy', lineNo, raw))
    else c.policy = pol
    if (rest[1] === '-c') {
      const p = rest[2]
      const b = rest[3]
      if (p !== undefined && b !== undefined && /^\d+$/.test(p) && /^\d+$/.test(b)) c.counters = {packets: Number(p), bytes: Number(b)}
      else problems.push(problem(probe, 'bad -c counters', lineNo, raw))
    } else if (rest.length > 1) problems.push(problem(probe, 'unexpected words after -P CHAIN POLICY', lineNo, raw))
  }

  newChain(name: string, lineNo: number): void {
    this.ensure(name, lineNo, false)
  }

  /** The chain the last rule went to, when `line` names it between `from` and `to`; else undefined. */
  lastRuleChainAt(line: string, from: number, to: number): XtChain | undefined {
    const last = this.lastRuleChain
    return last !== undefined && last.name.length === to - from && line.startsWith(last.name, from) ? last : undefined
  }

  /**
   * The declared chain an `-A NAME` line as iptables-save prints it names (not quoted, no blank or tab, not an
   * option), which the next rules most likely go to too; undefined for any other name (chainForRule says why).
   */
  declaredRuleChain(name: string): XtChain | undefined {
    if (!plainChainName(name)) return undefined
    const have = this.ids.get(name)
    if (have === undefined) return undefined
    this.lastRuleChainId = have
    return (this.lastRuleChain = this.list[have]!)
  }

  /**
   * declaredRuleChain for the name at [from, to) of `text`, when it is one of the few chains declared right after the
   * last rule's: iptables-save prints the chains' rules in the order it declared the chains (libiptc's and nft's
   * chain lists, one loop over each), so at the next chain's first rule it is most often the next one declared, or
   * one after a chain with no rules. Compared where it lies: no name cut out and hashed. Undefined otherwise.
   */
  nextDeclaredRuleChainAt(text: string, from: number, to: number): XtChain | undefined {
    const {list} = this
    const n = to - from
    for (let k = this.lastRuleChainId + 1, end = Math.min(list.length, k + NEXT_CHAINS_TRIED); k > 0 && k < end; k++) {
      const c = list[k]!
      if (c.name.length === n && text.startsWith(c.name, from) && plainChainName(c.name)) {
        this.lastRuleChainId = k
        return (this.lastRuleChain = c)
      }
    }
    return undefined
  }

  chainForRule(name: string, lineNo: number, raw: string, problems: ParseProblem[], probe: string, ruleSpec: boolean): XtChain {
    // iptables-save prints a chain's rules together: comparing with the last chain's name is cheaper than hashing.
    const last = this.lastRuleChain
    if (last !== undefined && last.name === name) return last
    const have = this.ids.get(name)
    if (have !== undefined) {
      this.lastRuleChainId = have
      return (this.lastRuleChain = this.list[have]!)
    }
    // iptables-restore accepts rules in built-in chains without a `:CHAIN` line; a user chain must be declared.
    const builtin = xtBuiltinChain(this.name, name) !== undefined
    if (!builtin) problems.push(problem(probe, `rule for chain ${name}, which is not declared${ruleSpec ? ' (no -N line)' : ' (no :CHAIN line)'}`, lineNo, raw))
    return this.ensure(name, lineNo, builtin)
  }

  /** `c.rules`, to add a rule to: the chain's own array (made on its first rule, see NO_RULES). */
  ownRules(c: XtChain): XtRule[] {
    if (c.rules === NO_RULES) c.rules = []
    return c.rules
  }

  /** The 1-based position the next rule appended to `c` takes, rules not built included. */
  nextPosition(c: XtChain): number {
    return c.rules.length + (this.unbuilt[this.idOf(c)]?.rules ?? 0) + 1
  }

  /**
   * A rule read no further (IptablesSaveOptions.onlyMarkRules): counted, and its jump kept for the chain graph, as the
   * target chain's number (model/chain-graph.ts registerXtChainGraph: the graph then hashes no name again).
   */
  skipRule(c: XtChain, target: string | undefined): void {
    const u = this.unbuiltFor(c)
    u.rules++
    if (target !== undefined) this.unbuiltJump(u, target)
  }

  /** The record of `c`'s rules not built, for a rule about to be counted in it (then one rule read no further). */
  unbuiltFor(c: XtChain): UnbuiltRules {
    if (this.lastUnbuiltChain === c) return this.lastUnbuilt!
    const id = this.idOf(c)
    let u = this.unbuilt[id]
    if (u === undefined) this.unbuilt[id] = u = new UnbuiltRules(this.unbuiltCount++, this.list)
    // The chain's rules come in two runs: a jump seen in the first may come again (finish dedupes).
    else u.resumed = true
    this.lastUnbuiltChain = c
    this.lastUnbuilt = u
    return u
  }

  /** The number of `c`, a chain of this table: the last rule's chain's without hashing its name (most often). */
  private idOf(c: XtChain): number {
    return c === this.lastRuleChain && this.lastRuleChainId >= 0 ? this.lastRuleChainId : this.ids.get(c.name)!
  }

  /** A -j/-g of a rule counted in `u`, kept unless it names a target rather than a chain, or was kept before. */
  unbuiltJump(u: UnbuiltRules, target: string): void {
    if (KNOWN_TARGETS.has(target)) return
    const id = this.ids.get(target)
    if (id === undefined) {
      // Not a chain (yet): kept by name (finish dedupes it against the chain, should one be declared later).
      if (!u.targets.includes(target)) u.addTarget(target)
      u.resumed = true
    } else if (this.jumpedFrom[id] !== u.serial) {
      this.jumpedFrom[id] = u.serial
      u.addTarget(id)
    }
  }

  has(name: string): boolean {
    return this.ids.has(name)
  }

  /** model/deferred-rules.ts deferredRules, for a lazy chain of this table. */
  private deferredRulesOf(c: XtChain): DeferredRules | undefined {
    const d = this.deferred.get(c)
    if (d === undefined || d.before > 0) return undefined
    // A line that does not tokenize is no rule, and would shift the positions after it: then the whole chain is read.
    const {lines, lineNos} = linesOf(d)
    d.aligned ??= lines.every(quotesClose)
    if (!d.aligned) return undefined
    const build = this.buildDeferred!
    return {
      count: d.count,
      printedDestination: (i) => printedDestination(lines[i]!),
      ruleAt: (i) => {
        const built = (d.built ??= [])
        let r = built[i]
        if (r === undefined) {
          const one: XtRule[] = []
          build(this, c, [lines[i]!], [lineNos[i]!], one)
          r = one[0]!
          r.position = i + 1
          built[i] = r
        }
        return r!
      },
    }
  }

  /** The chain called `name`, made (with `counters`, when known) if it is new. */
  private ensure(name: string, lineNo: number, builtin: boolean, counters?: Counters): XtChain {
    const i = this.ids.get(name)
    if (i === undefined) return this.add(name, lineNo, builtin, counters)
    const c = this.list[i]!
    if (builtin) c.builtin = true
    return c
  }

  /** A chain not in the table yet, numbered next (the caller knows `name` is new). */
  private add(name: string, lineNo: number, builtin: boolean, counters: Counters | undefined): XtChain {
    const c: XtChain = this.buildDeferred === undefined ? eagerChain(name, builtin, lineNo, counters) : new LazyXtChain(name, builtin, lineNo, this)
    if (counters !== undefined && this.buildDeferred !== undefined) c.counters = counters
    this.ids.set(name, this.list.length)
    this.list.push(c)
    this.jumpedFrom.push(-1)
    this.unbuilt.push(undefined)
    return c
  }

  /** A lazy chain's rules (LazyXtChain): the lines deferred for it built into `rules` on the first read. */
  rulesOf(c: XtChain, rules: XtRule[]): XtRule[] {
    const d = this.deferred.get(c)
    if (d !== undefined) {
      this.deferred.delete(c)
      if (this.lastDeferred === d) this.lastDeferred = undefined
      const {lines, lineNos} = linesOf(d)
      this.buildDeferred!(this, c, lines, lineNos, rules, d.built)
    }
    return rules
  }

  finish(problems: ParseProblem[], probe: string): XtTable {
    const chains = this.list
    for (const c of chains) {
      if (!c.builtin) continue
      const b = xtBuiltinChain(this.name, c.name)
      if (b) {
        c.hook = b.hook
        if (b.priority !== undefined) c.priority = b.priority
      }
    }
    // Only a long chain's lines are worth building one at a time (model/deferred-rules.ts).
    for (const [c, d] of this.deferred) if (d.count >= LONG_CHAIN_RULES) registerDeferredRules(c, this.ownDeferred)
    // Indexed: 40k kube-proxy chains, once, mostly before the optimizing compiler has seen this.
    const {unbuilt} = this
    for (let i = 0; i < unbuilt.length; i++) {
      const u = unbuilt[i]
      if (u !== undefined) chains[i]!.unbuilt = u
    }
    for (const c of this.renumber) c.rules.forEach((r, i) => (r.position = i + 1))
    for (const r of this.unresolved) {
      const t = r.target
      if (t && (t.kind === 'jump' || t.kind === 'goto') && !this.ids.has(t.chain))
        problems.push(problem(probe, noSuchChain(t, this.name), r.line, r.raw))
    }
    const t: XtTable = {name: this.name, committed: this.committed, chains}
    if (this.line !== undefined) t.line = this.line
    const {ids, list} = this
    registerChainLookup(t, {get: (name) => {
      const i = ids.get(name)
      return i === undefined ? undefined : list[i]
    }})
    // A partial parse kept its jumps as chain numbers: its graph is ready (xtChainGraph returns it).
    if (this.unbuiltCount > 0) registerXtChainGraph(t, this.ids, (i) => this.unbuilt[i])
    return t
  }
}

/**
 * A chain of a parse that builds its rules at once, its counters (a user chain's `[0:0]`, known when it is declared)
 * in the object literal rather than added after: V8 gives a literal room for its own properties only, so each of
 * kube-proxy's 40k chains got a property array besides, for the collector to copy while the parse runs. Its rules
 * start as NO_RULES. (The two, with unbuilt-rules.ts: `marks` at 110k legacy rules 0.533 → 0.510 s, docs/kernel-notes.md#kn-32-streamed-output.)
 */
function eagerChain(name: string, builtin: boolean, line: number, counters: Counters | undefined): XtChain {
  return counters === undefined ? {name, builtin, line, rules: NO_RULES} : {name, builtin, line, rules: NO_RULES, counters}
}

/**
 * `trimmed.slice(1).split(/\s+/)`, by a scan of the characters when the only blanks are spaces (what
 * iptables-save prints: 40k declarations at kube-proxy scale); any other whitespace takes the regex.
 */
function declarationWords(trimmed: string): string[] {
  const n = trimmed.length
  for (let i = 1; i < n; i++) {
    const c = trimmed.charCodeAt(i)
    if ((c < 33 && c !== 32) || c >= 127) return trimmed.slice(1).split(/\s+/)
  }
  const out: string[] = []
  let from = 1
  for (let i = 1; i <= n; i++) {
    if (i < n && trimmed.charCodeAt(i) !== 32) continue
    // A run of spaces ends a word; at the start it gives split's empty first word, as the regex does.
    if (i > from || from === 1) out.push(trimmed.slice(from, i))
    while (i + 1 < n && trimmed.charCodeAt(i + 1) === 32) i++
    from = i + 1
  }
  return out
}
