// A dump parsed twice, to compare what the parser reads in runs of lines where they lie (declaration-run.ts,
// rule-run.ts) with what it reads line by line: whole, and one character at a time (every line arrives through the
// carry and is read alone, never in a run).
import {IptablesSaveParser, parseIptablesSave, type IptablesSaveOptions} from '../../src/probes/iptables-save.js'
import type {XtRuleset} from '../../src/model/netfilter.js'
import type {Parsed} from '../../src/model/warning.js'

/** The parser's three modes, as each test names them. */
export const PARSE_MODES: Array<[string, Partial<IptablesSaveOptions>]> = [
  ['full', {}],
  ['marks', {onlyMarkRules: true}],
  ['lazy', {lazy: {lateProblem: () => undefined}}],
]

/** `text` parsed whole and one character at a time, every chain's rules read (a lazy chain builds them then). */
export function parsedInRunsAndAlone(text: string, opts: IptablesSaveOptions): {whole: Parsed<XtRuleset>; alone: Parsed<XtRuleset>} {
  const whole = parseIptablesSave(text, opts)
  const p = new IptablesSaveParser(opts)
  for (const c of text) p.push(c)
  const alone = p.end()
  for (const r of [whole, alone]) for (const t of r.facts.tables) for (const c of t.chains) void c.rules
  return {whole, alone}
}
