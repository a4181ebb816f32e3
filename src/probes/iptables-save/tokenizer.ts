/** The words of a line; `quoted[i]` when some part of word i was inside double quotes (a value, never an option). */
export interface Words {
  w: string[]
  /** Allocated only for lines with quotes (one array instead of an object per word: 150k-line dumps). */
  quoted?: boolean[]
}

export function isQuoted(ws: Words, i: number): boolean {
  return ws.quoted !== undefined && ws.quoted[i] === true
}

/**
 * Whether tokenize(line) succeeds, without building its words: every double quote opened is closed, a backslash
 * inside quotes escaping the next character, as tokenize reads them (its only error is an unterminated quote).
 */
export function quotesClose(line: string): boolean {
  let i = line.indexOf('"')
  while (i !== -1) {
    // i opens a quoted part: find its end.
    let j = i + 1
    for (;;) {
      if (j >= line.length) return false
      const c = line.charCodeAt(j)
      if (c === 92 && j + 1 < line.length) j += 2
      else if (c === 34) break
      else j++
    }
    i = line.indexOf('"', j + 1)
  }
  return true
}

/**
 * Split a line the way iptables-restore 1.8.9 does (checked in a netns): words separated by blanks; a double
 * quote may open inside a word and its closing quote ends the word; inside quotes a backslash escapes the next
 * character (iptables-save writes `"a \"q\" b"` and `"it\'s"`). Single quotes are ordinary characters
 * (`'a b'` is two words to iptables-restore). One pass over the characters.
 */
export function tokenize(line: string): {words: Words; error?: string} {
  const w: string[] = []
  const words: Words = {w}
  const n = line.length
  let i = 0
  while (i < n) {
    let c = line.charCodeAt(i)
    if (c === 32 || c === 9) {
      i++
      continue
    }
    // Fast path: a word without quotes is a slice of the line (most words of a dump).
    const start = i
    while (i < n && (c = line.charCodeAt(i)) !== 32 && c !== 9 && c !== 34) i++
    if (i >= n || c !== 34) {
      w.push(line.slice(start, i))
      continue
    }
    // Slow path: the word has double-quoted parts; build it piece by piece.
    let buf = line.slice(start, i)
    while (i < n) {
      c = line.charCodeAt(i)
      if (c === 34) {
        i++
        let closed = false
        let from = i
        while (i < n) {
          const d = line.charCodeAt(i)
          if (d === 92 && i + 1 < n) {
            buf += line.slice(from, i) + line[i + 1]
            i += 2
            from = i
          } else if (d === 34) {
            buf += line.slice(from, i)
            i++
            closed = true
            break
          } else i++
        }
        if (!closed) return {words, error: 'unterminated double quote'}
        break // iptables-restore ends the word at the closing quote: `ab"c d"e` is two words
      } else if (c === 32 || c === 9) break
      else {
        const from = i
        while (i < n && (c = line.charCodeAt(i)) !== 32 && c !== 9 && c !== 34) i++
        buf += line.slice(from, i)
      }
    }
    words.quoted ??= []
    words.quoted[w.length] = true
    w.push(buf)
  }
  return {words}
}
