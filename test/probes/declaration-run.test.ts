// The run of `:CHAIN - [0:0]` lines read in place (declaration-run.ts) must declare exactly the chains the
// line-by-line parse would declare the same way, and stop at every other line: a dump of every kind of declaration
// parses to the same facts and problems whether its lines come whole (runs) or one character at a time (each line
// through the carry, read alone).
import {describe, expect, it} from 'vitest'
import {readDeclarationRun} from '../../src/probes/iptables-save/declaration-run.js'
import {TableBuilder} from '../../src/probes/iptables-save/table-builder.js'
import {PARSE_MODES, parsedInRunsAndAlone} from '../helpers/runs-and-alone.js'

const PLAIN = [':KUBE-SVC-A - [0:0]', ':KUBE-SVC-AB - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':"quoted" - [0:0]']

/** Lines a run must leave to the parser, and why. */
const STOPS: Array<[string, string]> = [
  [':PREROUTING ACCEPT [0:0]', "a built-in chain's policy and counters"],
  [':KUBE-SVC-A - [0:0]', 'a chain declared before (the parser reports it)'],
  [':A\tB - [0:0]', 'a tab in the name'],
  [':A B - [0:0]', 'a blank in the name'],
  [':C - [0:0]\r', 'CRLF'],
  [':D - [1:2]', 'counters'],
  [': - [0:0]', 'no name'],
  ['-A KUBE-SVC-A -j RETURN', 'a rule'],
]

describe('readDeclarationRun', () => {
  it('declares every plain line, to the end of the last whole one', () => {
    const t = new TableBuilder('nat', 1, 'ipv4')
    const text = `${PLAIN.join('\n')}\n:E - [0:`
    expect(readDeclarationRun(text, 0, t, 2)).toEqual({at: text.lastIndexOf('\n') + 1, lines: PLAIN.length})
    for (const name of ['KUBE-SVC-A', 'KUBE-SVC-AB', 'KUBE-MARK-MASQ', '"quoted"']) expect(t.has(name), name).toBe(true)
    expect(t.has('E')).toBe(false)
  })

  for (const [line, why] of STOPS) {
    it(`stops at ${why}: ${JSON.stringify(line)}`, () => {
      const before = `${PLAIN.join('\n')}\n`
      const run = readDeclarationRun(`${before}${line}\n:AFTER - [0:0]\n`, 0, new TableBuilder('nat', 1, 'ipv4'), 2)
      expect(run).toEqual({at: before.length, lines: PLAIN.length})
    })
  }
})

describe('a dump of every kind of declaration: read in runs, the facts of reading it line by line', () => {
  const text = ['*nat', ...PLAIN, ...STOPS.map(([l]) => l), ...PLAIN, ':LAST - [0:0]', '-A LAST -j KUBE-SVC-A', 'COMMIT', ''].join('\n')
  for (const [name, extra] of PARSE_MODES) {
    it(name, () => {
      const {whole, alone} = parsedInRunsAndAlone(text, {family: 'ipv4', backend: 'legacy', ...extra})
      const plain = (r: typeof whole) => ({...r, facts: {...r.facts, tables: r.facts.tables.map((t) => ({...t, chains: t.chains.map((c) => ({...c, rules: c.rules}))}))}})
      expect(plain(whole)).toEqual(plain(alone))
      // Each duplicate reported on its own line, the second run of PLAIN's included (`:A B` declares A, as `:A\tB` did).
      expect(whole.problems.filter((x) => /declared twice/.test(x.message)).map((x) => x.line)).toEqual([7, 9, 14, 15, 16, 17])
    })
  }
})
