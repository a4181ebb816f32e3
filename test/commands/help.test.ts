// --help reads as prose at any width: the descriptions' source line breaks are not kept (src/cli/help.ts), so each
// paragraph fills the width and no line runs past it.
import {describe, expect, it} from 'vitest'
import {prose} from '../../src/cli/help.js'
import {cli} from '../helpers/cli.js'

const COMMANDS = [['hooks'], ['marks'], ['trace'], ['snapshot'], ['diff'], ['completion'], ['lab', 'up'], ['lab', 'down'], ['lab', 'status']]

/** The DESCRIPTION section's paragraphs, as lines. */
function paragraphs(help: string): string[][] {
  const section = /\nDESCRIPTION\n([\s\S]*?)(?:\n[A-Z][A-Z ]+\n|$)/.exec(help)?.[1] ?? ''
  return section.split(/\n\s*\n/).map((p) => p.split('\n').filter((l) => l.trim() !== ''))
}

describe('help text', () => {
  it('prose joins a paragraph\'s lines and keeps blank-line paragraphs', () => {
    expect(prose('one\ntwo  \n  three\n\nfour\nfive')).toBe('one two three\n\nfour five')
  })

  for (const width of [72, 100, 140]) {
    it(`every command's description fills ${width} columns without ragged lines`, () => {
      for (const c of COMMANDS) {
        const r = cli([...c, '--help'], {env: {OCLIF_COLUMNS: String(width)}})
        expect(r.status, c.join(' ')).toBe(0)
        const ps = paragraphs(r.stdout)
        expect(ps.length, c.join(' ')).toBeGreaterThan(0)
        for (const p of ps) {
          for (const l of p) expect(l.length, `${c.join(' ')}: ${l}`).toBeLessThanOrEqual(width)
          // Every line but a paragraph's last is filled to within a long word of the width.
          for (const l of p.slice(0, -1)) expect(l.length, `${c.join(' ')} at ${width}: ragged line "${l}"`).toBeGreaterThan(width - 30)
        }
      }
    })
  }
})
