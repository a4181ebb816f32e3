import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'
import {ROOT} from '../helpers/fixtures.js'

// A reference snapshot whose hostname, note and program name carry what a terminal would obey:
// an OSC title ending with BEL, a screen clear, NUL, an 8-bit CSI and a right-to-left override.
const EVIL = '\u001b]0;owned\u0007\u001b[2J\u0000\u009b31m\u202e'
const dir = mkdtempSync(`${tmpdir()}/ni-hostile-`)
const snap = JSON.parse(readFileSync(`${ROOT}testdata/reference/node1.json`, 'utf8'))
snap.meta.hostname = `host${EVIL}`
snap.meta.note = `note${EVIL}\nsecond line`
const prog = snap.outputs.find((o: {argv: string[]}) => o.argv.join(' ') === 'bpftool -j prog show')
const progs = JSON.parse(prog.stdout)
progs[0].name = `prog${EVIL}`
prog.stdout = `${JSON.stringify(progs)}\n`
const FILE = `${dir}/hostile.json`
writeFileSync(FILE, JSON.stringify(snap))

/** No byte a terminal acts on: ESC, BEL, NUL, the C1 CSI, and the bidi override (as UTF-8, E2 80 AE). */
function expectInert(out: string, what: string) {
  const bytes = Buffer.from(out, 'utf8')
  for (const [name, b] of [['ESC', 0x1b], ['BEL', 0x07], ['NUL', 0x00]] as const) expect(bytes.includes(b), `${what} contains ${name}`).toBe(false)
  expect(out.includes('\u009b'), `${what} contains CSI (U+009B)`).toBe(false)
  expect(out.includes('\u202e'), `${what} contains RLO (U+202E)`).toBe(false)
}

describe('a crafted snapshot cannot reach the terminal raw', () => {
  it('hooks: hostname, note and program name shown as visible escapes on stdout; nothing raw on stderr', () => {
    const r = cli(['hooks', '--snapshot', FILE])
    expect(r.status).toBe(0)
    expectInert(r.stdout, 'stdout')
    expectInert(r.stderr, 'stderr')
    expect(r.stdout).toContain('node host\\x1b]0;owned\\x07\\x1b[2J\\x00\\x9b31m\\u202e · kernel')
    expect(r.stdout).toContain('note: note\\x1b]0;owned\\x07\\x1b[2J\\x00\\x9b31m\\u202e\\x0asecond line\n')
    expect(r.stdout).toContain('prog\\x1b]0;owned\\x07')
  })

  it('hooks --json keeps the true strings (JSON escapes them)', () => {
    const r = cli(['hooks', '--snapshot', FILE, '--json'])
    expect(r.status).toBe(0)
    expect(Buffer.from(r.stdout).includes(0x1b)).toBe(false)
    const doc = JSON.parse(r.stdout)
    expect(doc.node.hostname).toBe(`host${EVIL}`)
    expect(doc.devices.flatMap((d: {hooks: Array<{program?: {name?: string}}>}) => d.hooks.map((h) => h.program?.name))).toContain(`prog${EVIL}`)
  })

  it('marks and trace (tree and dot) print it escaped too', {timeout: 120_000}, () => {
    for (const args of [
      ['marks', '--snapshot', FILE],
      ['trace', '10.42.1.80', '10.42.0.51:80', '--snapshot', FILE, '--snapshot', 'testdata/reference/node2.json'],
      ['trace', '10.42.1.80', '10.42.0.51:80', '--snapshot', FILE, '--format', 'dot'],
    ]) {
      const r = cli(args)
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      expectInert(r.stdout, `${args[0]} stdout`)
      expectInert(r.stderr, `${args[0]} stderr`)
      expect(r.stdout).toMatch(/host\\{1,2}x1b\]0;owned/) // DOT escapes the backslash once more
    }
  })

  it('an error line quoting the user\'s input is escaped too', () => {
    const r = cli(['hooks', '--snapshot', FILE, '--dev', `eth${EVIL.replace('\u0000', '')}`])
    expect(r.status).toBe(2)
    expectInert(r.stderr, 'stderr')
    // The user's value is quoted as a JSON string (quoteInput): controls come out as \u escapes, C1 and bidi by printable.
    expect(r.stderr).toBe('nodeinspect: no device matches --dev "eth\\u001b]0;owned\\u0007\\u001b[2J\\x9b31m\\u202e"\n')
  })
})
