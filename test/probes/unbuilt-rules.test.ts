// The record of a chain's rules a marks parse did not build: jumps kept as chain numbers, named only when read.
import {describe, expect, it} from 'vitest'
import {UnbuiltRules} from '../../src/probes/iptables-save/unbuilt-rules.js'
import {parseIptablesSaveForMarks} from '../../src/probes/iptables-save.js'
import type {XtChain} from '../../src/model/netfilter.js'

const chain = (name: string): XtChain => ({name, builtin: false, rules: []})

describe('UnbuiltRules', () => {
  it('names its targets from the chain list as it is when read, names of no chain as they were kept', () => {
    const chains: XtChain[] = [chain('A')]
    const u = new UnbuiltRules(0, chains)
    u.addTarget(0)
    u.addTarget('NOWHERE')
    // Declared after the jump to it was kept: the record holds the list, not a copy of it.
    chains.push(chain('LATE'))
    u.addTarget(1)
    expect(u.targets).toEqual([0, 'NOWHERE', 1])
    expect(u.jumps).toEqual(['A', 'NOWHERE', 'LATE'])
    // Made once.
    expect(u.jumps).toBe(u.jumps)
  })

  it('keeps each jump once when its rules came in two runs (resumed)', () => {
    const u = new UnbuiltRules(0, [chain('A'), chain('B')])
    for (const t of [0, 1, 0]) u.addTarget(t)
    u.resumed = true
    expect(u.jumps).toEqual(['A', 'B'])
  })

  it('starts every record with one shared, frozen empty list, and a first jump gives it a list of its own', () => {
    const a = new UnbuiltRules(0, [chain('A')])
    const b = new UnbuiltRules(1, [chain('A')])
    expect(a.targets).toBe(b.targets)
    expect(Object.isFrozen(a.targets)).toBe(true)
    a.addTarget(0)
    expect(a.targets).toEqual([0])
    expect(b.targets).toEqual([])
    expect(b.jumps).toEqual([])
  })

  it("is what a marks parse leaves on a chain, its jumps read by name", () => {
    const dump = ['*nat', ':PREROUTING ACCEPT [0:0]', ':SVC - [0:0]', ':SEP - [0:0]', '-A PREROUTING -j SVC', '-A SVC -j SEP', '-A SVC -j SEP', '-A SEP -j DNAT --to-destination 10.0.0.1', 'COMMIT', ''].join('\n')
    const chains = parseIptablesSaveForMarks(dump, {family: 'ipv4', backend: 'legacy'}).facts.tables[0]!.chains
    expect(chains.map((c) => [c.name, c.unbuilt?.rules, c.unbuilt?.jumps])).toEqual([
      ['PREROUTING', 1, ['SVC']],
      ['SVC', 2, ['SEP']],
      // DNAT is a target, not a chain: counted, no jump.
      ['SEP', 1, []],
    ])
    expect(chains[0]!.unbuilt).toBeInstanceOf(UnbuiltRules)
  })
})
