/**
 * Where the -j/-g word of an iptables-save rule line is, found from the end of the line without reading its
 * other words: iptables-save prints the target last (matches first, then `-j TARGET` and the target's own
 * options), so the last ` -j ` / ` -g ` after the last double quote is outside every quoted value when the
 * quotes before it pair up. Undefined when there is none, or when a quote comes after it (a quoted target
 * option such as LOG's --log-prefix), or the quotes do not pair up: the caller then reads the line word by word
 * (rule-skim.ts), which also reports an unterminated quote. iptables takes the last -j/-g when a rule names two.
 * Returns where the word starts (jumpWordEnd: where it ends), -1 for undefined: no object per line of a 150k-line dump.
 */
export function jumpWord(line: string): number {
  const k = lastJumpBlank(line, 0, line.length)
  if (k === -1) return -1
  // Outside every quoted value only if the quotes before it pair up (a backslash may escape one: word by word).
  if (line.indexOf('\\') !== -1) return -1
  let quotes = 0
  for (let q = line.indexOf('"'); q !== -1 && q < k; q = line.indexOf('"', q + 1)) quotes++
  return quotes % 2 === 0 ? k + 4 : -1
}

/**
 * The first half of jumpWord, for the line [from, to) of a longer text (rule-run.ts reads lines in place): where
 * the blank before the last ` -j `/` -g ` is, with no quote after it and a target word after it; -1 for none.
 * Whether the quotes before it pair up is the caller's to check.
 */
export function lastJumpBlank(text: string, from: number, to: number): number {
  // Backwards from the end: the target is near it, so this reads a few dozen characters, not the line.
  for (let i = to - 3; i > from; i--) {
    const c = text.charCodeAt(i)
    if (c === 34) return -1
    if (c !== 45 || text.charCodeAt(i - 1) !== 32 || text.charCodeAt(i + 2) !== 32) continue
    const f = text.charCodeAt(i + 1)
    if (f !== 106 && f !== 103) continue
    // ` -j ` or ` -g ` at i - 1: its word starts after the blank. `-j` followed by a blank or an option is not a
    // target word (an unquoted `--comment -j`): word by word.
    if (i + 3 >= to) return -1
    const w = text.charCodeAt(i + 3)
    return w === 32 || w === 45 ? -1 : i - 1
  }
  return -1
}

/** Where the word jumpWord found ends (`to`: the end of its line in a longer text). */
export function jumpWordEnd(line: string, start: number, to = line.length): number {
  const sp = line.indexOf(' ', start)
  return sp === -1 || sp > to ? to : sp
}
