// Hostile command lines: shell syntax in every place a value goes. nodeinspect runs tools with argument arrays,
// never a shell, so none of it may run; each line gets one `nodeinspect:` error line (or an answer), never a stack.
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'nodeinspect-inject-'))
const canary = join(dir, 'ran')
const payloads = [`$(touch ${canary})`, `\`touch ${canary}\``, `;touch ${canary}`, `|touch ${canary}`, `&& touch ${canary}`, `'\n touch ${canary}`, `eth0 $(touch ${canary})`]
const SNAP = ['--snapshot', 'testdata/reference/node1.json']

const lines: string[][] = payloads.flatMap((p) => [
  ['hooks', '--netns', p],
  ['hooks', ...SNAP, '--dev', p],
  ['marks', '--snapshot', p],
  ['trace', p, '10.42.0.51:80', ...SNAP],
  ['trace', '10.42.1.80', p, ...SNAP],
  ['trace', '10.42.1.80', '10.42.0.51:80', '--mark', p, ...SNAP],
  ['snapshot', '--netns', p, '-o', join(dir, 'snap.json')],
  ['lab', 'status', '--prefix', p],
])

describe(`shell syntax in ${lines.length} command lines runs nothing`, () => {
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it.each(lines.map((l) => [l.join(' ').replace(/\n/g, '\\n'), l] as const))('%s', (_, argv) => {
    const r = cli([...argv])
    expect(existsSync(canary), 'the payload ran').toBe(false)
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/)
    if (r.status !== 0) {
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(/^nodeinspect: [^\n]*\n$/)
    }
  })
})
