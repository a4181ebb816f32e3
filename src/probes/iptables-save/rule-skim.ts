import {COUNTERS_RE} from './table-builder.js'

/**
 * The chain and the -j/-g word of a `[p:b] -A CHAIN …` line without double quotes, read without building its
 * words. Without quotes every word is a run of non-blanks (the tokenizer's fast path), so one scan of the
 * characters finds them and only those two are sliced: what a rule that is not built (keepRule) needs, at a
 * fraction of tokenizing it. Undefined for any other line: the caller tokenizes it.
 */
export function skimAppend(line: string): {chain: string; jump?: string} | undefined {
  if (line.indexOf('"') >= 0) return undefined
  const n = line.length
  let i = 0
  let word = 0
  let chain: string | undefined
  let jump: string | undefined
  let afterJump = false
  let cmdAt = 0
  while (i < n) {
    let c = line.charCodeAt(i)
    if (c === 32 || c === 9) {
      i++
      continue
    }
    const s = i
    while (i < n && (c = line.charCodeAt(i)) !== 32 && c !== 9) i++
    const len = i - s
    const dash = line.charCodeAt(s) === 45
    if (word === 0 && line.charCodeAt(s) === 91) {
      // `[packets:bytes]` before the command (iptables-save -c)
      if (!COUNTERS_RE.test(line.slice(s, i))) return undefined
      cmdAt = 1
    } else if (word === cmdAt) {
      if (!((len === 2 && line.startsWith('-A', s)) || (len === 8 && line.startsWith('--append', s)))) return undefined
    } else if (word === cmdAt + 1) {
      if (dash) return undefined
      chain = line.slice(s, i)
    } else if (afterJump && !dash) {
      // iptables takes the last -j/-g when a rule names two (the full parse reports it)
      jump = line.slice(s, i)
      afterJump = false
    } else {
      afterJump = dash && ((len === 2 && (line.startsWith('-j', s) || line.startsWith('-g', s))) || (len === 6 && (line.startsWith('--jump', s) || line.startsWith('--goto', s))))
    }
    word++
  }
  if (chain === undefined) return undefined
  return jump === undefined ? {chain} : {chain, jump}
}
