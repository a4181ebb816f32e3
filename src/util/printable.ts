/**
 * Text from the node (hostnames, device and program names, rule comments, a tool's own output quoted in a
 * warning) is attacker-shaped: a snapshot or a device name can carry ESC, BEL, NUL or a bidi override that a
 * terminal would obey (clear the screen, set the title, hide or reorder what follows). Text output shows every
 * such character as visible escapes; JSON output keeps the true strings (JSON escapes them itself).
 *
 * Escaped: C0 controls (newline and tab included: a value is one line), DEL, C1 controls (U+0080-U+009F, which
 * some terminals read as 8-bit CSI/OSC), and the Unicode bidi embeddings, overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069). A backslash is left as it is, so the text reads naturally; text output is
 * for eyes, and `--json` is there for the exact bytes.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g
/** The same class, not global: a test that keeps no lastIndex, for the common string that has none of them. */
const ANY_UNSAFE = new RegExp(UNSAFE.source)

const escapeOne = (c: string): string => {
  const code = c.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** One value made safe to print: `a\x1bb` (ESC) becomes the visible `a\x1bb`; `\u202e` stays as those six characters. */
export function printable(value: string): string {
  // Testing first returns the string itself when nothing needs escaping (almost always): replace() with a
  // callback costs more even when it matches nothing (a third of rendering `hooks` at 1,000 devices).
  return ANY_UNSAFE.test(value) ? value.replace(UNSAFE, escapeOne) : value
}

/** Values longer than this are shortened in text output (a 72,000-character program name is noise, not a name). */
const MAX_SHOWN = 1024
/** How much of a shortened value is kept. */
const SHOWN_HEAD = 256

const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')

/**
 * A value longer than `max` characters cut to its head, an ellipsis and its true length: `xxxx… (72,000 chars)`.
 * @internal tested directly (a test seam)
 */
export function clipped(value: string, max = MAX_SHOWN, head = SHOWN_HEAD): string {
  if (value.length <= max) return value
  let end = Math.min(head, max)
  // Never split a surrogate pair: a lone high surrogate would print as U+FFFD.
  const last = value.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${value.slice(0, end)}… (${grouped(value.length)} chars)`
}

/**
 * A copy of a report (plain JSON data) with every string, and every key, made printable and every long
 * string clipped: what a text renderer formats, so that no field, present or future, reaches the terminal raw.
 * Linear in the size of the report; shared and repeated objects stay shared.
 */
export function printableReport<T>(report: T, max = MAX_SHOWN): T {
  const done = new Map<object, unknown>()
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return printable(clipped(v, max))
    if (v === null || typeof v !== 'object') return v
    const seen = done.get(v)
    if (seen !== undefined) return seen
    if (Array.isArray(v)) {
      const out: unknown[] = []
      done.set(v, out)
      for (const e of v) out.push(walk(e))
      return out
    }
    const proto = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) return v // reports are plain JSON; anything else is left as it is
    const out: Record<string, unknown> = {}
    done.set(v, out)
    for (const [k, e] of Object.entries(v)) out[printable(k)] = walk(e)
    return out
  }
  return walk(report) as T
}

// Our own colours (SGR: ESC [ digits ; m) and our own line breaks pass; everything else unsafe is escaped.
const UNSAFE_OUTPUT = /\u001b\[[0-9;]*m|[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/**
 * The last guard before a finished text reaches stdout or stderr: keeps line breaks and colour (SGR) sequences,
 * which only our styling produces once the data went through {@link printableReport} or {@link printable},
 * and escapes any other control character that slipped through.
 */
export function printableOutput(text: string): string {
  return text.replace(UNSAFE_OUTPUT, (m) => (m.length > 1 ? m : escapeOne(m)))
}
