import type {Counters, IpFamily, XtRule} from '../../model/netfilter.js'
import type {Bad} from './extension.js'
import {parseRuleBody} from './rule-body.js'
import type {ChainNames} from './target.js'
import type {Words} from './tokenizer.js'

/** Where a rule line sits: its table and chain, its line, its 1-based position in the chain. */
export interface RulePlace {
  table: ChainNames & {name: string}
  chainName: string
  lineNo: number
  line: string
  position: number
  /** `[packets:bytes]` before the command (iptables-save -c). */
  counters: Counters | undefined
}

/** One rule from the words after `-A CHAIN` (or `-I CHAIN [n]`), from `rest` on: the same rule however it is read (at once, or when its chain is first read). */
export function buildRule(ws: Words, rest: number, at: RulePlace, family: IpFamily, bad: Bad): XtRule {
  const parsed = parseRuleBody(ws, rest, at.table, family, bad)
  const counters = parsed.counters ?? at.counters
  const rule: XtRule = {line: at.lineNo, raw: at.line, table: at.table.name, chain: at.chainName, position: at.position, matches: parsed.matches, comments: parsed.comments}
  if (counters) rule.counters = counters
  if (parsed.target) rule.target = parsed.target
  return rule
}
