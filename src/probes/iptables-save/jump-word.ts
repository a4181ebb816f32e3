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
  // Backwards from the end: the target is near it, so this reads a few dozen characters, not the line.
  for (let i = line.length - 3; i > 0; i--) {
    const c = line.charCodeAt(i)
    if (c === 34) return -1
    if (c !== 45 || line.charCodeAt(i - 1) !== 32 || line.charCodeAt(i + 2) !== 32) continue
    const f = line.charCodeAt(i + 1)
    if (f !== 106 && f !== 103) continue
    // ` -j ` or ` -g ` at i - 1: its word starts after the blank.
    const start = i + 3
    const w = line.charCodeAt(start)
    // `-j` followed by a blank or an option is not a target word (an unquoted `--comment -j`): word by word.
    if (Number.isNaN(w) || w === 32 || w === 45) return -1
    // Outside every quoted value only if the quotes before it pair up (a backslash may escape one: word by word).
    if (line.indexOf('\\') !== -1) return -1
    let quotes = 0
    for (let q = line.indexOf('"'); q !== -1 && q < i; q = line.indexOf('"', q + 1)) quotes++
    if (quotes % 2 !== 0) return -1
    return start
  }
  return -1
}

/** Where the word jumpWord found ends. */
export function jumpWordEnd(line: string, start: number): number {
  const sp = line.indexOf(' ', start)
  return sp === -1 ? line.length : sp
}
