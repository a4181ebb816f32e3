import {describe, expect, it} from 'vitest'
import {clipped, printable, printableOutput, printableReport} from '../../src/util/printable.js'

// Every character a terminal may act on: C0 (newline and tab included), DEL, C1, bidi overrides and isolates.
const UNSAFE = [
  ...Array.from({length: 0x20}, (_, i) => i),
  0x7f,
  ...Array.from({length: 0x20}, (_, i) => 0x80 + i),
  ...[0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069],
].map((c) => String.fromCharCode(c))
const hasUnsafe = (s: string) => /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(s)

describe('printable', () => {
  it('shows ESC, BEL and NUL as visible escapes', () => {
    expect(printable('host\u001b]0;owned\u0007name\u0000')).toBe('host\\x1b]0;owned\\x07name\\x00')
    expect(printable('a\u001b[2Jb')).toBe('a\\x1b[2Jb')
  })

  it('escapes every C0/C1 control, DEL and bidi override, and nothing else', () => {
    for (const c of UNSAFE) {
      const out = printable(`x${c}y`)
      expect(hasUnsafe(out), JSON.stringify(c)).toBe(false)
      expect(out).toMatch(/^x\\(x[0-9a-f]{2}|u[0-9a-f]{4})y$/)
    }
    expect(printable('\u202e')).toBe('\\u202e')
    expect(printable('\u009b')).toBe('\\x9b')
    const ordinary = 'eth0 lxc65015af813d1 · → … 漢字 😀 café \\ "q" [x] {y}'
    expect(printable(ordinary)).toBe(ordinary)
  })
})

describe('clipped', () => {
  it('keeps a value up to the limit whole, and cuts a longer one to its head, an ellipsis and its length', () => {
    expect(clipped('abc', 3)).toBe('abc')
    expect(clipped('x'.repeat(72_000))).toBe(`${'x'.repeat(256)}… (72,000 chars)`)
    expect(clipped('abcdef', 4, 2)).toBe('ab… (6 chars)')
  })

  it('never splits a surrogate pair', () => {
    const s = `${'a'.repeat(255)}😀${'b'.repeat(2000)}`
    expect(clipped(s)).toBe(`${'a'.repeat(255)}… (2,257 chars)`)
  })
})

describe('printableReport', () => {
  it('makes every string and key of a report printable and clips long ones, leaving the original alone', () => {
    const report = {node: {hostname: 'n\u001b[31m1', note: 'x\u0007'}, warnings: [{message: 'bpftool: \u0000 boom\nsecond line'}], n: 3, ok: true, none: null, names: {'k\u001bey': 'v'}, long: 'p'.repeat(5000)}
    const r = printableReport(report)
    expect(r).toEqual({node: {hostname: 'n\\x1b[31m1', note: 'x\\x07'}, warnings: [{message: 'bpftool: \\x00 boom\\x0asecond line'}], n: 3, ok: true, none: null, names: {'k\\x1bey': 'v'}, long: `${'p'.repeat(256)}… (5,000 chars)`})
    expect(report.node.hostname).toBe('n\u001b[31m1') // the report itself (and so --json) keeps the true string
    expect(hasUnsafe(JSON.stringify(r).replace(/\\u00[0-9a-f]{2}/g, ''))).toBe(false)
  })

  it('keeps shared objects shared', () => {
    const shared = {name: 'a'}
    const r = printableReport({a: shared, b: [shared]})
    expect(r.a).toBe(r.b[0])
  })
})

describe('printableOutput, the last guard before the terminal', () => {
  it('keeps line breaks and colour, escapes any other control', () => {
    expect(printableOutput('\u001b[1mnode\u001b[22m\nline\u001b]0;t\u0007\r\t')).toBe('\u001b[1mnode\u001b[22m\nline\\x1b]0;t\\x07\\x0d\\x09')
    expect(printableOutput('a\u001b[2Jb\u001bc\u202e')).toBe('a\\x1b[2Jb\\x1bc\\u202e')
  })
})
