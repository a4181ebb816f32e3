// The parse problems of rules built after a node's state exists (trace's lazy chains) must reach the node's
// warnings, whether they come before or after the list is attached, capped as every probe's problems are.
import {describe, expect, it} from 'vitest'
import type {Warning} from '../../src/model/warning.js'
import {LateWarnings} from '../../src/state/late-warnings.js'

describe('LateWarnings', () => {
  it('holds problems until attached, then pushes them as they come, five per probe and an "N more" line', () => {
    const late = new LateWarnings()
    late.problem({probe: 'iptables-save', line: 3, message: 'bad one'})
    const warnings: Warning[] = [{probe: 'ip -j link show', kind: 'parse', message: 'earlier'}]
    late.attach(warnings)
    expect(warnings.map((w) => w.message)).toEqual(['earlier', 'iptables-save:3: bad one'])
    for (let i = 4; i <= 10; i++) late.problem({probe: 'iptables-save', line: i, message: 'bad'})
    late.problem({probe: 'ip6tables-save', message: 'other probe'})
    expect(warnings.map((w) => w.message)).toEqual([
      'earlier',
      'iptables-save:3: bad one',
      'iptables-save:4: bad',
      'iptables-save:5: bad',
      'iptables-save:6: bad',
      'iptables-save:7: bad',
      'iptables-save: 3 more parse problems not shown',
      'ip6tables-save: other probe',
    ])
    expect(warnings.every((w) => w.kind === 'parse')).toBe(true)
  })
})
