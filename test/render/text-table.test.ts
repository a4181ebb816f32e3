import {createRequire} from 'node:module'
import {describe, expect, it} from 'vitest'
import {TextTable, wrapText} from '../../src/render/text-table.js'
import {textWidth} from '../../src/render/text-width.js'

// cli-table3 is the oracle: TextTable must draw what it drew for our options, without its quadratic cost.
const CliTable = createRequire(import.meta.url)('cli-table3') as new (o: object) => {push(r: string[]): void; toString(): string}

/** A small deterministic generator (no Math.random: a failure must replay). */
function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function cell(r: () => number): string {
  const pieces = ['a', 'bb', 'kube-proxy/nat-postrouting', 'x'.repeat(45), ' ', '  ', '\n', '漢字', '·', '→', '…', 'id 42', '']
  let s = ''
  const n = Math.floor(r() * 12)
  for (let i = 0; i < n; i++) s += pieces[Math.floor(r() * pieces.length)]
  return s
}

describe('TextTable draws what cli-table3 draws', () => {
  it('on 250 random tables: fixed and automatic widths, wrapping, long words, wide characters, blank lines', () => {
    const r = rng(7)
    for (let t = 0; t < 250; t++) {
      const ncol = 1 + Math.floor(r() * 4)
      const fixed = r() < 0.7
      const colWidths = fixed ? Array.from({length: ncol}, () => 4 + Math.floor(r() * 30)) : undefined
      const opts = {head: Array.from({length: ncol}, (_, i) => `col ${i}`), style: {head: [], border: [], 'padding-left': 1, 'padding-right': 1}, wordWrap: true, ...(colWidths ? {colWidths} : {})}
      const ours = new TextTable(opts as ConstructorParameters<typeof TextTable>[0])
      const theirs = new CliTable(opts)
      const nrow = Math.floor(r() * 4)
      for (let y = 0; y < nrow; y++) {
        const row = Array.from({length: ncol}, () => cell(r))
        ours.push(row)
        theirs.push(row)
      }
      expect(ours.toString(), `table ${t}: ${JSON.stringify({colWidths})}`).toBe(theirs.toString())
    }
  })
})

describe('TextTable with breakLongWords', () => {
  it('breaks a word wider than its column over full lines instead of cutting it', () => {
    const t = new TextTable({head: ['a', 'b'], colWidths: [5, 12], wordWrap: true, breakLongWords: true})
    t.push(['1', `id 7 ${'abcdefghij'.repeat(3)} end`])
    expect(t.toString()).toBe(
      [
        '┌─────┬────────────┐',
        '│ a   │ b          │',
        '├─────┼────────────┤',
        '│ 1   │ id 7       │',
        '│     │ abcdefghij │',
        '│     │ abcdefghij │',
        '│     │ abcdefghij │',
        '│     │ end        │',
        '└─────┴────────────┘',
      ].join('\n'),
    )
  })

  it('never splits a wide character and never loops on one wider than the column', () => {
    expect(wrapText('漢字漢字漢', 4, true)).toEqual(['漢字', '漢字', '漢'])
    expect(wrapText('漢字', 1, true)).toEqual(['漢', '字'])
    expect(wrapText('ab😀cd', 3, true).every((l) => textWidth(l) <= 3 || l === '😀')).toBe(true)
  })
})

describe('rendering is linear in the length of a cell', () => {
  it('wraps a 1,000,000-character word, and 1,000,000 characters of words, each under 2.5 s (a quadratic wrap would take hours)', () => {
    const word = 'x'.repeat(1_000_000)
    let t0 = performance.now()
    const lines = wrapText(word, 38, true)
    const oneWord = performance.now() - t0
    expect(lines).toHaveLength(Math.ceil(1_000_000 / 38))
    expect(lines.join('')).toBe(word)
    const words = 'abcdefghi '.repeat(100_000)
    t0 = performance.now()
    const wrapped = wrapText(words, 38)
    const manyWords = performance.now() - t0
    expect(wrapped[0]).toBe('abcdefghi abcdefghi abcdefghi')
    expect(oneWord).toBeLessThan(2500)
    expect(manyWords).toBeLessThan(2500)
  })

  it('a 10× longer multi-line cell costs about 10× (not 100×) to draw', () => {
    const time = (n: number) => {
      const t = new TextTable({head: ['hook', 'program'], colWidths: [10, 40], wordWrap: true, breakLongWords: true})
      t.push(['1. tc', `id 1 sched_cls ${'p'.repeat(n)}\ntag 0011223344556677\nmaps 1,2`])
      const t0 = performance.now()
      const s = t.toString()
      return {ms: performance.now() - t0, lines: s.split('\n').length}
    }
    time(20_000) // warm up the JIT
    const small = time(50_000)
    const big = time(500_000)
    expect(big.lines).toBeGreaterThan(10 * (small.lines - 10))
    // Quadratic would be ~100×; allow generous noise on a shared machine.
    expect(big.ms).toBeLessThan(Math.max(40 * small.ms, 500))
  })
})
