// The run of `-A` lines read in place (rule-run.ts) must settle exactly the lines the line-by-line parse would
// settle the same way, and stop at every other: each kind of line it must leave to parseLine ends a run there, and
// a dump of all of them parses to the same facts whether its lines come whole (runs) or one character at a time
// (never a run: each line arrives through the carry and is read alone).
import {describe, expect, it} from 'vitest'
import {readRuleRun, type RuleRunMode} from '../../src/probes/iptables-save/rule-run.js'
import {TableBuilder} from '../../src/probes/iptables-save/table-builder.js'
import {PARSE_MODES, parsedInRunsAndAlone} from '../helpers/runs-and-alone.js'

const CHAINS = ['KUBE-SVC-A', 'KUBE-SVC-AB', 'KUBE-SEP-1', 'KUBE-MARK-MASQ', 'X']

/** A nat table with CHAINS declared, as the parser builds it from the `:CHAIN` lines. */
function table(): TableBuilder {
  const t = new TableBuilder('nat', 1, 'ipv4')
  CHAINS.forEach((c, i) => t.declare(`:${c} - [0:0]`, i + 2, `:${c} - [0:0]`, [], 'iptables-save'))
  return t
}

/** Rules a run settles in both modes: plain jumps, a quoted comment, KUBE-MARK-MASQ (a jump, not a mark use). */
const PLAIN = [
  '-A KUBE-SVC-A -m comment --comment "default/web:http" -m statistic --mode random --probability 0.5 -j KUBE-SEP-1',
  '-A KUBE-SVC-A -j KUBE-SEP-1',
  '-A KUBE-SVC-AB -j KUBE-SEP-1',
  '-A KUBE-SEP-1 -s 10.0.0.1/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ',
  '-A KUBE-SEP-1 -p tcp -m tcp -j DNAT --to-destination 10.0.0.1:80',
  '-A X -g KUBE-SVC-A',
  // Jump words that repeat, one the start of another (the run remembers its last two words), and one that names no
  // chain (kept by name, once).
  '-A X -j KUBE-SVC-AB',
  '-A X -j KUBE-SVC-A',
  '-A X -j KUBE-SVC-AB',
  '-A X -j KUBE-MARK-MASQ',
  '-A X -j NO-SUCH-CHAIN',
  '-A X -j KUBE-SVC-A',
  '-A X -j NO-SUCH-CHAIN',
]

/** Lines a counting run must leave to parseLine, and why. */
const STOPS: Array<[string, string]> = [
  ['-A NOT-DECLARED -j X', 'a chain not declared (parseLine reports it)'],
  ['-A "X" -j KUBE-SEP-1', 'a quoted chain word'],
  ['-A X -m comment --comment "a -j KUBE-SEP-1', 'quotes that do not pair up before the -j'],
  ['-A X -m comment --comment "a\\"b" -j KUBE-SEP-1', 'a backslash (it may escape a quote)'],
  ['-A X -j LOG --log-prefix "x y"', 'a quote after the -j (a quoted target option)'],
  ['-A X -j MARK --set-xmark 0x4000/0x4000', 'a MARK target: a mark use, built now'],
  ['-A X -m mark --mark 0x4000/0x4000 -j RETURN', 'a mark match'],
  ['-A X -m comment --comment "MARK" -j KUBE-SEP-1', '"MARK" outside the jump word'],
  ['-A X -m comment --comment "mark" -j KUBE-MARK-MASQ', '"mark" outside a jump word that also spells MARK'],
  ['-A X -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff', 'a CONNMARK target'],
  ['-A X -j MARK', 'a MARK target with nothing after it'],
  ['-A X -p tcp', 'no -j/-g (parseLine decides whether one hides)'],
  ['-A X -j KUBE-SEP-1\r', 'CRLF'],
  ['-A X\t-j KUBE-SEP-1', 'a tab after the chain'],
  ['-I X 1 -j KUBE-SEP-1', 'not an -A line'],
]

describe('readRuleRun', () => {
  for (const mode of ['count-unless-mark', 'defer'] as RuleRunMode[]) {
    it(`${mode}: reads every plain line, to the end of the last whole one`, () => {
      const text = `${PLAIN.join('\n')}\n-A X -j`
      const run = readRuleRun(text, 0, table(), mode, 10)
      expect(run).toEqual({at: text.lastIndexOf('\n') + 1, lines: PLAIN.length})
    })
  }

  for (const [line, why] of STOPS) {
    it(`count-unless-mark stops at ${why}: ${JSON.stringify(line)}`, () => {
      const before = `${PLAIN.join('\n')}\n`
      const run = readRuleRun(`${before}${line}\n${PLAIN[0]}\n`, 0, table(), 'count-unless-mark', 10)
      expect(run).toEqual({at: before.length, lines: PLAIN.length})
      // A run starting at it reads nothing.
      expect(readRuleRun(`${line}\n`, 0, table(), 'count-unless-mark', 10).lines).toBe(0)
    })
  }

  it('defer keeps any rule of a declared chain, quotes and marks included, and stops where the chain or the form is unknown', () => {
    const kept = ['-A X -j MARK --set-xmark 0x4000/0x4000', '-A X -m comment --comment "a\\"b" -j KUBE-SEP-1', '-A X -p tcp']
    expect(readRuleRun(`${kept.join('\n')}\n`, 0, table(), 'defer', 1).lines).toBe(kept.length)
    for (const line of ['-A NOT-DECLARED -j X', '-A "X" -j Y', '-A X -j Y\r', '-A X\t-j Y', '-I X 1 -j Y']) expect(readRuleRun(`${line}\n`, 0, table(), 'defer', 1).lines).toBe(0)
  })
})

describe('a dump of every kind of line: read in runs, the facts of reading it line by line', () => {
  const text = [
    '*nat',
    ...CHAINS.map((c) => `:${c} - [0:0]`),
    ...PLAIN,
    ...STOPS.map(([l]) => l),
    ...PLAIN,
    '-A KUBE-SVC-A -j KUBE-SVC-AB',
    'COMMIT',
    '',
  ].join('\n')
  for (const [name, extra] of PARSE_MODES) {
    it(name, () => {
      const {whole, alone} = parsedInRunsAndAlone(text, {family: 'ipv4', backend: 'nft', ...extra})
      expect(whole).toEqual(alone)
      expect(whole.facts.tables[0]!.chains.map((c) => c.name)).toEqual([...CHAINS, 'NOT-DECLARED'])
    })
  }
})
