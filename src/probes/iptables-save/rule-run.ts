/**
 * A run of `-A CHAIN …` lines read where they lie in a piece of the dump, not cut out one by one: what `marks`
 * (rules that do not use a mark are only counted, with their jump) and `trace` (rules kept as text until a walk
 * reads their chain) need of a 110k-rule dump is a few searches per line. The parser (iptables-save.ts) hands each
 * piece's lines here first; a line this cannot settle alone (a chain not declared, a quote or backslash that may
 * hide the target, a rule to build now, CRLF, anything not printed the way iptables-save prints) ends the run and
 * is read whole by the parser, with the same result.
 *
 * Each search for a character the line may not hold (a quote, a backslash, "mark") runs on to the next one in
 * the piece; its answer is kept while the run passes lines before it, so a piece costs about one search per needle,
 * not one per line.
 */
import type {XtChain} from '../../model/netfilter.js'
import {mentionsMark} from './mentions-mark.js'
import {jumpWordEnd, lastJumpBlank} from './jump-word.js'
import {deferLine, type Deferred, type TableBuilder} from './table-builder.js'
import type {UnbuiltRules} from './unbuilt-rules.js'

/** What the run does with a rule that is not built now. */
export type RuleRunMode = 'count-unless-mark' | 'defer'

export interface RuleRunEnd {
  /** Where the first line not read starts (`from` when none was). */
  at: number
  /** How many lines were read. */
  lines: number
}

/** In one piece of text: where `needle` next occurs (-1: nowhere after), as last searched from `from`. */
class NextIndex {
  private from = 0
  private at = -2
  constructor(
    private readonly text: string,
    private readonly needle: string,
  ) {}

  /** Where the needle first occurs at or after `from` (searched again only when the last answer does not stand). */
  after(from: number): number {
    if (this.at === -2 || from < this.from || (this.at !== -1 && this.at < from)) {
      this.at = this.text.indexOf(this.needle, from)
      this.from = from
    }
    return this.at
  }

  /** Whether the needle lies wholly in [from, to). */
  in(from: number, to: number): boolean {
    const at = this.after(from)
    return at !== -1 && at + this.needle.length <= to
  }
}

/** The searches of one piece of text that a run makes on every line. */
class NextOf {
  private readonly quote: NextIndex
  private readonly backslash: NextIndex
  private readonly lower: NextIndex
  private readonly upper: NextIndex
  constructor(text: string) {
    this.quote = new NextIndex(text, '"')
    this.backslash = new NextIndex(text, '\\')
    this.lower = new NextIndex(text, 'mark')
    this.upper = new NextIndex(text, 'MARK')
  }

  /** How many `"` lie in [from, to). */
  quotesIn(from: number, to: number): number {
    let n = 0
    for (let at = from; this.quote.in(at, to); at = this.quote.after(at) + 1) n++
    return n
  }

  backslashIn(from: number, to: number): boolean {
    return this.backslash.in(from, to)
  }

  /** Whether "mark" or "MARK" lies wholly in [from, to). */
  markIn(from: number, to: number): boolean {
    return this.lower.in(from, to) || this.upper.in(from, to)
  }
}

/**
 * Read the `-A` lines of `text` from `from` (the start of a line) into `table`, each ending with a newline, while
 * each is one this settles alone. `lineNo`: the number of the line at `from`.
 */
export function readRuleRun(text: string, from: number, table: TableBuilder, mode: RuleRunMode, lineNo: number): RuleRunEnd {
  const start = from
  const next = new NextOf(text)
  let lines = 0
  let chain: XtChain | undefined
  let name = ''
  let unbuilt: UnbuiltRules | undefined
  let deferred: Deferred | undefined
  for (;;) {
    const nl = text.indexOf('\n', from)
    if (nl === -1) break
    // `-A ` and more, without the \r of CRLF (the parser strips it).
    if (nl - from < 4 || text.charCodeAt(from) !== 45 || text.charCodeAt(from + 1) !== 65 || text.charCodeAt(from + 2) !== 32 || text.charCodeAt(nl - 1) === 13) break
    // The chain: most often the one of the line before (iptables-save prints a chain's rules together).
    const nameEnd = from + 3 + name.length
    if (chain === undefined || !(text.startsWith(name, from + 3) && (nameEnd === nl || text.charCodeAt(nameEnd) === 32))) {
      let end = text.indexOf(' ', from + 3)
      if (end === -1 || end > nl) end = nl
      const c = table.lastRuleChainAt(text, from + 3, end) ?? table.nextDeclaredRuleChainAt(text, from + 3, end) ?? table.declaredRuleChain(text.slice(from + 3, end))
      if (c === undefined) break
      chain = c
      name = c.name
      unbuilt = undefined
      deferred = undefined
    }
    if (mode === 'defer') {
      deferred ??= table.deferredFor(chain)
      deferLine(deferred, text, from, nl, lineNo + lines)
    } else {
      // jumpWord, on the line where it lies: the last -j/-g, outside every quoted value.
      const k = lastJumpBlank(text, from, nl)
      if (k === -1 || next.backslashIn(from, nl) || next.quotesIn(from, k) % 2 !== 0) break
      const jump = k + 4
      const jumpEnd = jumpWordEnd(text, jump, nl)
      // mentionsMark, asked of the line alone only when it spells "mark" or "MARK" (kube-proxy's -j KUBE-MARK-MASQ).
      if (next.markIn(from, nl) && mentionsMark(text.slice(from, nl), jump - from)) break
      unbuilt ??= table.unbuiltFor(chain)
      unbuilt.rules++
      table.unbuiltJump(unbuilt, text.slice(jump, jumpEnd))
    }
    lines++
    from = nl + 1
  }
  return {at: lines === 0 ? start : from, lines}
}
