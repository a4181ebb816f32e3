// The lazy walk of a long chain indexes it from its lines (src/probes/iptables-save/printed-destination.ts) and
// builds rules only by line number (table-builder.ts deferredRules): both must say what the parsed rule says.
import fc from 'fast-check'
import {readdirSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'
import {printedDestination} from '../../src/probes/iptables-save/printed-destination.js'
import {quotesClose, tokenize} from '../../src/probes/iptables-save/tokenizer.js'
import {ROOT, testdata} from '../helpers/fixtures.js'

const FIXTURES = readdirSync(`${ROOT}testdata/fixtures/iptables-save`, {withFileTypes: true}).filter((f) => f.isFile() && f.name.endsWith('.txt')).map((f) => `fixtures/iptables-save/${f.name}`)

describe('printedDestination', () => {
  it("agrees with the parsed rule on every `-A` line of every capture: a plain -d is the rule's first destination, ! -d a negated one", () => {
    let plain = 0
    let negated = 0
    for (const rel of FIXTURES) {
      const rs = parseIptablesSave(testdata(rel), {family: 'ipv4', backend: 'nft', ...(rel.includes('iptables-S') ? {table: 'nat'} : {})}).facts
      for (const t of rs.tables)
        for (const c of t.chains)
          for (const r of c.rules) {
            const p = printedDestination(r.raw)
            if (p === undefined) continue
            const d = r.matches.find((m) => m.kind === 'destination')
            expect(d, r.raw).toBeDefined()
            if (d?.kind !== 'destination') continue
            if (p === 'negated') {
              negated++
              expect(d.negated, r.raw).toBe(true)
            } else {
              plain++
              expect(d.negated, r.raw).toBe(false)
              expect(d.address.address, r.raw).toBe(p.address)
              if (p.suffix !== undefined && /^\d+$/.test(p.suffix)) expect(d.address.prefixLen, r.raw).toBe(Number(p.suffix))
            }
          }
    }
    expect(plain).toBeGreaterThan(20)
    expect(negated).toBeGreaterThan(0)
  })

  it('answers only for the printed form, and leaves any other line to its rule', () => {
    expect(printedDestination('-A S -d 10.96.0.1/32 -p tcp -j X')).toEqual({address: '10.96.0.1', suffix: '32'})
    expect(printedDestination('-A S ! -s 10.0.0.0/8 -d 10.96.0.1 -j X')).toEqual({address: '10.96.0.1', suffix: undefined})
    expect(printedDestination('-A S -s 10.0.0.1/32 ! -d 10.96.0.0/12 -j X')).toBe('negated')
    expect(printedDestination('-A S -d 10.96.0.1/32')).toEqual({address: '10.96.0.1', suffix: '32'})
    for (const other of ['-A S -p tcp -d 10.96.0.1/32 -j X', '-A S -j X', '-A S', '-I S -d 10.0.0.1/32 -j X', '-A S  -d 10.0.0.1/32', '-A S -d "10.0.0.1/32" -j X', '-A S -d ! 10.0.0.1 -j X', '-A S -s 10.0.0.1'])
      expect(printedDestination(other), other).toBeUndefined()
  })
})

describe('quotesClose', () => {
  it('is true exactly when tokenize succeeds', () => {
    const line = fc.stringMatching(/^[a "\\\t-]{0,24}$/)
    fc.assert(fc.property(line, (s) => quotesClose(s) === (tokenize(s).error === undefined)), {numRuns: 5000})
    expect(quotesClose('-m comment --comment "a \\"q\\" b" -j X')).toBe(true)
    expect(quotesClose('-m comment --comment "a \\" -j X')).toBe(false)
    expect(quotesClose('ab"c d"e "')).toBe(false)
  })
})
