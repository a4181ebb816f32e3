/**
 * How many terminal columns text takes, one pass over its code points (no regex over the whole string per
 * call, so callers stay linear). Text reaching here is printable (src/util/printable.ts): no control characters.
 * Wide: East Asian Wide and Fullwidth blocks (UAX #11) and emoji presented as emoji; zero: combining marks,
 * zero-width space/joiners and variation selectors; everything else one column.
 */

// East Asian Wide/Fullwidth blocks, [first, last] code points (UAX #11, EastAsianWidth.txt, W and F).
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x17000, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
]

const EMOJI = /\p{Emoji_Presentation}/u
const ZERO = /[\p{Mn}\p{Me}\u200b-\u200d\ufe00-\ufe0f]/u

/** Columns taken by one code point. */
function codePointWidth(cp: number): number {
  if (cp < 0x300) return 1 // ASCII and Latin: the common case, decided without a lookup
  const c = String.fromCodePoint(cp)
  if (ZERO.test(c)) return 0
  for (const [a, b] of WIDE) if (cp >= a && cp <= b) return 2
  return EMOJI.test(c) ? 2 : 1
}

/** Columns taken by a line of text. */
export function textWidth(s: string): number {
  let w = 0
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i)!
    if (cp > 0xffff) i++
    w += codePointWidth(cp)
  }
  return w
}

/** The longest run of `s` from `start` that fits in `width` columns, and where it ends (an index into `s`). */
export function headToWidth(s: string, width: number, start = 0): {head: string; end: number; width: number} {
  let w = 0
  let i = start
  while (i < s.length) {
    const cp = s.codePointAt(i)!
    const cw = codePointWidth(cp)
    if (w + cw > width) break
    w += cw
    i += cp > 0xffff ? 2 : 1
  }
  return {head: s.slice(start, i), end: i, width: w}
}
