/**
 * JSON as tools print it, which is not always JSON. iproute2's json_writer (ip, tc, bridge; bpftool carries a
 * copy) escapes only `"`, `\`, \b, \f, \n, \r and \t in a string (jsonw_puts) and writes every other byte as it
 * is. The kernel accepts any device name but '', '.', '..' and names holding '/', ':' or a blank (dev_valid_name(),
 * net/core/dev.c), so `ip link add $'a\x01b' type veth …` makes `ip -j link` print a raw U+0001 inside a string,
 * which JSON.parse rejects (RFC 8259 §7: U+0000–U+001F must be escaped). One such device used to hide every device.
 *
 * `escapeRawControls` writes those characters as \u00XX where they sit inside a string, and nowhere else, so the
 * strings keep their exact value. One pass, no backtracking.
 * @internal tested directly (a test seam)
 */
export function escapeRawControls(text: string): string {
  const parts: string[] = []
  let from = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c /* \ */) i++ // the escaped character, whatever it is, is not a quote
      else if (c === 0x22 /* " */) inString = false
      else if (c < 0x20) {
        if (i > from) parts.push(text.slice(from, i))
        parts.push(ESCAPED[c]!)
        from = i + 1
      }
    } else if (c === 0x22) inString = true
  }
  if (from === 0) return text
  parts.push(text.slice(from))
  return parts.join('')
}

const ESCAPED = Array.from({length: 0x20}, (_, c) => `\\u${c.toString(16).padStart(4, '0')}`)

/**
 * JSON.parse, then, when that fails, JSON.parse of the text with its raw control characters escaped. The retry
 * costs nothing on well-formed output, and a document that still fails reports the first error.
 */
export function parseToolJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (first) {
    const escaped = escapeRawControls(text)
    if (escaped === text) throw first
    return JSON.parse(escaped)
  }
}
