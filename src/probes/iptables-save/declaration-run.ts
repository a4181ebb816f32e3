/**
 * A run of user-chain declarations (`:NAME - [0:0]`, how iptables-save declares every user chain) read where they lie
 * in a piece of the dump, as rule-run.ts reads `-A` lines: a kube-proxy dump declares 40k chains, one line each,
 * before its rules. A line this cannot settle alone (a built-in chain's policy and counters, a name declared before
 * or holding a blank or tab, CRLF, anything else) ends the run and the parser reads it whole (TableBuilder.declare),
 * with the same result.
 */
import {USER_CHAIN_TAIL, type TableBuilder} from './table-builder.js'

/**
 * Declare the chains of the `:` lines of `text` from `from` (the start of a line) in `table`, each ending with a
 * newline, while each is one this settles alone. `lineNo`: the number of the line at `from`. Returns where the
 * first line not read starts (`from` when none was) and how many were read.
 */
export function readDeclarationRun(text: string, from: number, table: TableBuilder, lineNo: number): {at: number; lines: number} {
  const start = from
  const tail = USER_CHAIN_TAIL.length
  let lines = 0
  for (;;) {
    const nl = text.indexOf('\n', from)
    if (nl === -1 || text.charCodeAt(from) !== 58 || nl - from <= tail + 1 || !text.startsWith(USER_CHAIN_TAIL, nl - tail)) break
    const name = text.slice(from + 1, nl - tail)
    if (name.indexOf(' ') !== -1 || name.indexOf('\t') !== -1 || !table.declareUserChain(name, lineNo + lines)) break
    lines++
    from = nl + 1
  }
  return {at: lines === 0 ? start : from, lines}
}
