import {COUNTERS_RE} from './table-builder.js'

/**
 * The chain and the -j/-g word of a `[p:b] -A CHAIN …` line, read without building its words: one scan of the
 * characters with the tokenizer's rules (blank-separated words; a double-quoted part, backslash escapes inside,
 * ends its word), slicing only those two words. What a rule that is not built (onlyMarkRules) needs, at a fraction
 * of tokenizing it. Undefined for any other line, or when either word is quoted: the caller tokenizes it.
 */
export function skimAppend(line: string): {chain: string; jump?: string} | undefined {
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
    let quoted = false
    while (i < n && (c = line.charCodeAt(i)) !== 32 && c !== 9) {
      if (c !== 34) {
        i++
        continue
      }
      // A quoted part: to its closing quote, which ends the word (iptables-restore: `ab"c d"e` is two words).
      quoted = true
      i++
      let closed = false
      while (i < n) {
        const d = line.charCodeAt(i)
        if (d === 92 && i + 1 < n) i += 2
        else if (d === 34) {
          i++
          closed = true
          break
        } else i++
      }
      if (!closed) return undefined
      break
    }
    const len = i - s
    const dash = !quoted && line.charCodeAt(s) === 45
    if (word === 0 && !quoted && line.charCodeAt(s) === 91) {
      // `[packets:bytes]` before the command (iptables-save -c)
      if (!COUNTERS_RE.test(line.slice(s, i))) return undefined
      cmdAt = 1
    } else if (word === cmdAt) {
      if (quoted || !((len === 2 && line.startsWith('-A', s)) || (len === 8 && line.startsWith('--append', s)))) return undefined
    } else if (word === cmdAt + 1) {
      if (quoted || dash) return undefined
      chain = line.slice(s, i)
    } else if (afterJump && !dash) {
      if (quoted) return undefined
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
