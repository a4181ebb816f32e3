// Colour follows the terminal and the user: on a terminal it is on; NO_COLOR (no-color.org), --no-color and any
// stdout that is not a terminal give plain text, for the tables and for the ink tree alike (ink's chalk ignores
// NO_COLOR by itself). The terminal is a real pseudo-terminal from script(1) (util-linux).
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'
import {ROOT} from '../helpers/fixtures.js'

const REF = (n: number) => `${ROOT}testdata/reference/node${n}.json`
const COMMANDS: Record<string, string[]> = {
  hooks: ['hooks', '--snapshot', REF(1)],
  marks: ['marks', '--snapshot', REF(1)],
  trace: ['trace', '10.42.1.80', '10.42.0.51:80', '--snapshot', REF(1), '--snapshot', REF(2)],
}
const hasScript = spawnSync('script', ['--version'], {encoding: 'utf8'}).status === 0
const ESC = '\u001b['

/** The CLI on a pseudo-terminal: `script -qc CMD /dev/null` gives it a tty for stdout. */
function onTerminal(args: string[], env: Record<string, string>): string {
  const quoted = [process.execPath, `${ROOT}bin/run.js`, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NO_COLOR', 'CI', 'FORCE_COLOR', 'TERM'].includes(k))) as Record<string, string>
  const r = spawnSync('script', ['-qc', quoted, '/dev/null'], {encoding: 'utf8', env: {...base, TERM: 'xterm-256color', COLUMNS: '120', ...env}, timeout: 120_000})
  expect(r.status, r.stderr).toBe(0)
  return r.stdout
}

describe.skipIf(!hasScript)('colour (a pseudo-terminal from script(1))', () => {
  for (const [name, args] of Object.entries(COMMANDS)) {
    it(`${name}: coloured on a terminal; plain with NO_COLOR, with --no-color, and through a pipe`, () => {
      expect(onTerminal(args, {})).toContain(ESC)
      expect(onTerminal(args, {NO_COLOR: '1'})).not.toContain(ESC)
      expect(onTerminal([...args, '--no-color'], {})).not.toContain(ESC)
      const piped = cli(args, {env: {NO_COLOR: ''}})
      expect(piped.status).toBe(0)
      expect(piped.stdout).not.toContain(ESC)
    })
  }
})
