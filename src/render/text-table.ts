import {headToWidth, textWidth} from './text-width.js'

/**
 * A box-drawn table in linear time. It draws what cli-table3 0.6.5 draws for the options we use (a head row,
 * padding, fixed or automatic column widths, word wrap, an over-long line cut with `…`), but cli-table3 is
 * quadratic in the length of a cell: Cell.draw() calls utils.truncate(this.content, 10) for a debug message on
 * every line it draws, and on a multi-line cell that trims one character at a time and re-measures the whole
 * cell each time (string-width over it, again and again). A 72,000-character program name took `hooks` 84 s.
 * Here every cell is split, wrapped and measured once.
 *
 * Cells are plain text: no colour inside a table (style lines around it instead), and data already made
 * printable (src/util/printable.ts), so widths are the code points' widths.
 */
export interface TextTableOptions {
  head?: string[]
  /** Each column's width, padding included; a column without one is as wide as its widest line. */
  colWidths?: number[]
  /** Wrap cells of fixed-width columns at spaces (cli-table3's `wordWrap`); otherwise only at `\n`. */
  wordWrap?: boolean
  /** Break a word wider than its column over several lines instead of cutting it with `…`. */
  breakLongWords?: boolean
  /** Padding either side of a cell (cli-table3's `style`; colours are not supported here). */
  style?: {'padding-left'?: number; 'padding-right'?: number; head?: []; border?: []}
}

const B = {top: ['┌', '┬', '┐'], mid: ['├', '┼', '┤'], bottom: ['└', '┴', '┘'], h: '─', v: '│'} as const

export class TextTable {
  private readonly rows: string[][] = []
  constructor(private readonly opts: TextTableOptions = {}) {}

  push(...rows: string[][]): number {
    for (const r of rows) this.rows.push(r)
    return this.rows.length
  }

  get length(): number {
    return this.rows.length
  }

  toString(): string {
    const padL = this.opts.style?.['padding-left'] ?? 1
    const padR = this.opts.style?.['padding-right'] ?? 1
    const all = this.opts.head?.length ? [this.opts.head, ...this.rows] : this.rows
    const ncol = all.reduce((n, r) => Math.max(n, r.length), 0)
    if (all.length === 0 || ncol === 0) return ''
    const fixed = this.opts.colWidths ?? []
    const widths: number[] = []
    for (let x = 0; x < ncol; x++) {
      const f = fixed[x]
      if (typeof f === 'number') widths.push(f)
      else widths.push(all.reduce((m, r) => Math.max(m, maxLineWidth(r[x] ?? '') + padL + padR), 1))
    }
    const cellLines = all.map((r) =>
      widths.map((w, x) => {
        const content = String(r[x] ?? '')
        const inner = w - padL - padR
        return typeof fixed[x] === 'number' && this.opts.wordWrap ? wrapText(content, inner, !!this.opts.breakLongWords) : content.split('\n')
      }),
    )
    const rule = ([l, m, r]: readonly string[]) => `${l}${widths.map((w) => B.h.repeat(w)).join(m)}${r}`
    const out: string[] = []
    cellLines.forEach((cells, y) => {
      out.push(rule(y === 0 ? B.top : B.mid))
      const height = cells.reduce((m, c) => Math.max(m, c.length), 1)
      for (let i = 0; i < height; i++) {
        out.push(`${B.v}${cells.map((c, x) => `${' '.repeat(padL)}${fitToWidth(c[i] ?? '', widths[x]! - padL - padR)}${' '.repeat(padR)}`).join(B.v)}${B.v}`)
      }
    })
    out.push(rule(B.bottom))
    return out.join('\n')
  }
}

function maxLineWidth(s: string): number {
  let m = 0
  for (const l of s.split('\n')) m = Math.max(m, textWidth(l))
  return m
}

/** A line padded to `width` columns, or cut to `width - 1` and ended with `…` when it is wider. @internal tested directly (a test seam) */
export function fitToWidth(line: string, width: number): string {
  const w = textWidth(line)
  if (w <= width) return line + ' '.repeat(width - w)
  const cut = headToWidth(line, Math.max(0, width - 1))
  return `${cut.head}…${' '.repeat(Math.max(0, width - 1 - cut.width))}`
}

/**
 * Word wrap of each `\n`-separated line to `max` columns, greedily, as cli-table3's utils.wordWrap does
 * (its quirks kept so tables read as before: an empty line is dropped, the run of spaces at a break is
 * dropped, an over-long word stays whole on its own line unless `breakLong`, which hard-breaks it).
 * Each character is looked at a bounded number of times: linear in the length of the text.
 * @internal tested directly (a test seam)
 */
export function wrapText(text: string, max: number, breakLong = false): string[] {
  const lines: string[] = []
  for (const l of text.split('\n')) wrapLine(l, Math.max(1, max), breakLong, lines)
  return lines
}

function wrapLine(input: string, max: number, breakLong: boolean, lines: string[]): void {
  const split = input.split(/(\s+)/)
  let line: string[] = []
  let lineLength = 0
  let space: string | undefined
  for (let i = 0; i < split.length; i += 2) {
    const word = split[i]!
    const w = textWidth(word)
    let newLength = lineLength + w
    if (lineLength > 0 && space) newLength += space.length
    if (newLength > max) {
      if (lineLength !== 0) lines.push(line.join(''))
      if (breakLong && w > max) {
        let at = 0
        let cut = headToWidth(word, max, at)
        while (cut.end < word.length) {
          // A character wider than the column still goes somewhere: alone on its line.
          const end = cut.end > at ? cut.end : at + (word.codePointAt(at)! > 0xffff ? 2 : 1)
          lines.push(word.slice(at, end))
          at = end
          cut = headToWidth(word, max, at)
        }
        line = [cut.head]
        lineLength = cut.width
      } else {
        line = [word]
        lineLength = w
      }
    } else {
      line.push(space || '', word)
      lineLength = newLength
    }
    space = split[i + 1]
  }
  if (lineLength) lines.push(line.join(''))
}
