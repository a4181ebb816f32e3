// trace reads a dump lazily (IptablesSaveOptions.lazy): each `-A` line is kept as it is and built when its chain's
// rules are first read. Once read, every chain must be what the eager parse gives, wherever the pieces ended; the
// problems found then must reach lateProblem (not be lost); a chain never read is never built. marks builds only
// the rules that use a mark (mentionsMark), finding the jump of the others from the end of the line (jumpWord).
import {describe, expect, it} from 'vitest'
import type {XtRuleset} from '../../src/model/netfilter.js'
import type {ParseProblem} from '../../src/model/warning.js'
import {IptablesSaveParser, mentionsMark, parseIptablesSave, type IptablesSaveOptions} from '../../src/probes/iptables-save.js'
import {jumpWord, jumpWordEnd} from '../../src/probes/iptables-save/jump-word.js'
import {xtChainGraph} from '../../src/model/chain-graph.js'
import {chainsByName} from '../../src/model/chain-lookup.js'
import {iptablesSaveTexts} from '../helpers/iptables-save-texts.js'

function lazyParse(text: string, opts: IptablesSaveOptions, piece = 4096) {
  const late: ParseProblem[] = []
  const p = new IptablesSaveParser({...opts, lazy: {lateProblem: (x) => late.push(x)}})
  for (let i = 0; i < text.length; i += piece) p.push(text.slice(i, i + piece))
  const r = p.end(opts.stderr)
  return {...r, late}
}

/** Every chain's rules read, in order: what a reader that walks them all sees. */
const readAll = (rs: XtRuleset) => rs.tables.map((t) => ({name: t.name, chains: t.chains.map((c) => ({...c, rules: c.rules}))}))
const byLine = (ps: ParseProblem[]) => [...ps].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || a.message.localeCompare(b.message))

/** Rules with problems of every kind a build finds: a bad value, an unterminated quote, an unknown chain of a -g. */
const BROKEN = [
  '*mangle',
  ':PREROUTING ACCEPT [0:0]',
  ':A - [0:0]',
  '-A PREROUTING -j A',
  '-A A -m mark --mark zz -j ACCEPT',
  '-A A -m comment --comment "open -j ACCEPT',
  '-A A -g NOWHERE',
  '-A A -j MARK --set-xmark 0x10/0x10',
  'COMMIT',
  '',
].join('\n')

describe('lazy iptables-save parse: read later, the same rules', () => {
  const all = [...iptablesSaveTexts(), {name: 'broken rules', text: BROKEN, opts: {family: 'ipv4', backend: 'nft'} as IptablesSaveOptions}]
  it('reads every capture and edge case of testdata', () => expect(all.length).toBeGreaterThanOrEqual(8))
  for (const {name, text, opts} of all) {
    it(`${name}: every chain, once read, equals the eager parse; its problems come late, none lost`, () => {
      const eager = parseIptablesSave(text, opts)
      for (const piece of [1 << 20, 4096, 7]) {
        const lazy = lazyParse(text, opts, piece)
        expect(readAll(lazy.facts)).toEqual(readAll(eager.facts))
        expect(lazy.facts.tables.map((t) => t.name)).toEqual(eager.facts.tables.map((t) => t.name))
        expect(byLine([...lazy.problems, ...lazy.late])).toEqual(byLine(eager.problems))
      }
    })
  }
  it('the problems of rules come late (so the test above compares something)', () => {
    const l = lazyParse(BROKEN, {family: 'ipv4', backend: 'nft'})
    expect(l.problems).toEqual([])
    readAll(l.facts)
    expect(l.late.map((p) => p.line)).toEqual([5, 6, 7])
    expect(l.late.map((p) => p.message).join('\n')).toMatch(/invalid mark value "zz"[\s\S]*quote[\s\S]*-g NOWHERE: no such chain in table mangle/)
  })
})

describe('lazy iptables-save parse: what is built, and when', () => {
  const dump = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':A - [0:0]',
    ':B - [0:0]',
    '-A PREROUTING -j A',
    '-A A -p tcp -m tcp --dport 80 -j B',
    '-A B -m mark --mark zz -j ACCEPT',
    '-A B -g NOWHERE',
    '-A A -j RETURN',
    'COMMIT',
    '',
  ].join('\n')
  const opts: IptablesSaveOptions = {family: 'ipv4', backend: 'nft'}

  it('a chain never read is never built: its problems never come', () => {
    const l = lazyParse(dump, opts)
    expect(l.problems).toEqual([])
    const chains = l.facts.tables[0]!.chains
    expect(chains.find((c) => c.name === 'A')!.rules.map((r) => r.target?.name)).toEqual(['B', 'RETURN'])
    expect(l.late).toEqual([])
    const b = chains.find((c) => c.name === 'B')!.rules
    expect(b.map((r) => r.line)).toEqual([7, 8])
    expect(l.late.map((p) => p.line)).toEqual(expect.arrayContaining([7, 8]))
    expect(l.late.find((p) => p.line === 8)!.message).toMatch(/-g NOWHERE: no such chain in table nat/)
    // Read again: built once.
    const n = l.late.length
    chains.find((c) => c.name === 'B')!.rules
    expect(l.late.length).toBe(n)
  })

  it('a chain printed in two runs keeps the dump order and positions', () => {
    const l = lazyParse(dump, opts)
    const a = l.facts.tables[0]!.chains.find((c) => c.name === 'A')!.rules
    expect(a.map((r) => [r.position, r.line])).toEqual([
      [1, 6],
      [2, 9],
    ])
  })

  it('a line the fast path does not take (counters, -I) is built at once, after the kept ones of its chain', () => {
    const t = ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -s 10.0.0.1/32 -j DROP', '[5:300] -A INPUT -s 10.0.0.2/32 -j DROP', '-I INPUT 1 -s 10.0.0.3/32 -j ACCEPT', '-A INPUT -s 10.0.0.4/32 -j DROP', 'COMMIT', ''].join('\n')
    const l = lazyParse(t, opts)
    const eager = parseIptablesSave(t, opts)
    expect(readAll(l.facts)).toEqual(readAll(eager.facts))
    // -I INPUT 1 goes first; the others keep the dump's order, the counted one among them.
    const sources = l.facts.tables[0]!.chains[0]!.rules.map((r) => r.matches.flatMap((m) => (m.kind === 'source' ? [m.address.address] : [])))
    expect(sources).toEqual([['10.0.0.3'], ['10.0.0.1'], ['10.0.0.2'], ['10.0.0.4']])
    expect(byLine([...l.problems, ...l.late])).toEqual(byLine(eager.problems))
  })
})

describe('mentionsMark: the rules marks builds', () => {
  const cases: Array<[string, boolean]> = [
    ['-A KUBE-SVC-X ! -s 10.244.0.0/16 -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-MARK-MASQ', false],
    ['-A KUBE-SEP-X -s 10.244.1.5/32 -m comment --comment "ns/svc" -j KUBE-MARK-MASQ', false],
    ['-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000', true],
    ['-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN', true],
    ['-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000', true],
    ['-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff', true],
    ['-A ISTIO_PRERT -p tcp -j TPROXY --on-port 15008 --on-ip 0.0.0.0 --tproxy-mark 0x111/0xfff', true],
    ['-A cali-PREROUTING -m mark --mark 0x10000/0x10000 -j cali-mark-chain', true],
    // a chain named with "mark" whose jump is all that spells it: not a use
    ['-A cali-from-wl -j cali-set-mark', false],
    // "mark" in a comment: built (harmless), since only a full read tells
    ['-A X -m comment --comment "mark me" -j ACCEPT', true],
    // a quote after the jump: the jump cannot be told from the end, so the rule is built
    ['-A X -j LOG --log-prefix "KUBE-MARK-MASQ "', true],
    ['-A X -j ACCEPT', false],
  ]
  for (const [line, uses] of cases) it(`${uses ? 'builds' : 'skips'}: ${line}`, () => expect(mentionsMark(line)).toBe(uses))
})

describe('jumpWord: the target word, from the end of the line (-1: read it word by word)', () => {
  const word = (l: string) => {
    const j = jumpWord(l)
    return j === -1 ? undefined : l.slice(j, jumpWordEnd(l, j))
  }
  it('finds -j and -g, the last of two, with target options after it', () => {
    expect(word('-A X -p tcp -j DNAT --to-destination 10.0.0.1:80')).toBe('DNAT')
    expect(word('-A X -g KUBE-SVC-Y')).toBe('KUBE-SVC-Y')
    expect(word('-A X -j A -j B')).toBe('B')
    expect(word('-A X -m comment --comment "a -j NOT" -j YES')).toBe('YES')
  })
  it('gives up (undefined) where only a word-by-word read can tell', () => {
    expect(word('-A X -m comment --comment "unterminated -j D')).toBeUndefined()
    expect(word('-A X -m comment --comment "it\\"s" -j D')).toBeUndefined()
    expect(word('-A X -j LOG --log-prefix "p -j q"')).toBeUndefined()
    expect(word('-A X -m comment --comment -j -m tcp')).toBeUndefined()
    expect(word('-A X -p tcp')).toBeUndefined()
  })
})

describe('a lazy chain', () => {
  it('shares one rules getter with every other (no closures per chain), and keeps only its plain fields as its own', () => {
    const text = ['*nat', ':PREROUTING ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', '-A PREROUTING -j A', '-A A -j B', 'COMMIT', ''].join('\n')
    const chains = lazyParse(text, {family: 'ipv4', backend: 'nft'}).facts.tables[0]!.chains
    const getters = new Set(chains.map((c) => Object.getOwnPropertyDescriptor(Object.getPrototypeOf(c), 'rules')?.get))
    expect(getters.size).toBe(1)
    expect([...getters][0]).toBeTypeOf('function')
    for (const c of chains) expect(Object.getOwnPropertyDescriptor(c, 'rules'), c.name).toBeUndefined()
    // What JSON and a spread see: the plain fields; the rules, read through the getter, are the eager parse's.
    expect(JSON.parse(JSON.stringify(chains[1]))).toEqual({name: 'A', builtin: false, line: 3, counters: {packets: 0, bytes: 0}})
    const eager = parseIptablesSave(text, {family: 'ipv4', backend: 'nft'}).facts.tables[0]!.chains
    expect(chains.map((c) => ({...c, rules: c.rules}))).toEqual(eager)
  })
})

describe('the chain graph of a marks parse: numbered as the dump is read, the graph xtChainGraph builds from the chains', () => {
  const TWO_RUNS = ['*nat', ':PREROUTING ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', '-A PREROUTING -j A', '-A A -j B', '-A A -j LATE', '-A B -j A', '-A A -j B', '-A A -j LATE', '-A A -g B',
    ':LATE - [0:0]', '-A LATE -j A', '-A PREROUTING -j NOWHERE', '-A PREROUTING -j NOWHERE', '-A B -j MARK --set-xmark 0x1/0x1', '-A B -j LATE', 'COMMIT', ''].join('\n')
  // A chain whose built rule (it matches a mark) jumps, before and among rules not built that jump too.
  const BUILT_AND_NOT = ['*nat', ':PREROUTING ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', ':C - [0:0]', '-A PREROUTING -j C', '-A C -j B', '-A C -m mark --mark 0x1/0x1 -j A', '-A C -j A', '-A C -j B', '-A A -j B', '-A B -j RETURN', 'COMMIT', ''].join('\n')
  const texts = [
    ...iptablesSaveTexts(),
    {name: 'chains in two runs, a chain declared after its jumps, a jump to no chain', text: TWO_RUNS, opts: {family: 'ipv4', backend: 'nft'} as IptablesSaveOptions},
    {name: 'a built rule that jumps among rules not built', text: BUILT_AND_NOT, opts: {family: 'ipv4', backend: 'nft'} as IptablesSaveOptions},
  ]
  for (const {name, text, opts} of texts) {
    it(`${name}: the same numbers, edges and base chains as a graph built afresh`, () => {
      const marks = parseIptablesSave(text, {...opts, onlyMarkRules: true}).facts
      for (const t of marks.tables) {
        const kept = xtChainGraph(t)
        // A copy of the table has no graph kept for it: xtChainGraph builds one from its chains.
        const fresh = xtChainGraph({...t, chains: t.chains.map((c) => ({...c}))})
        expect(kept, `${name} ${t.name}`).not.toBe(fresh)
        expect({names: kept.names, ids: [...kept.ids], out: kept.out, bases: kept.bases}).toEqual({names: fresh.names, ids: [...fresh.ids], out: fresh.out, bases: fresh.bases})
      }
    })
  }
  it('keeps each jump of a chain once, by name, in the order first seen', () => {
    const a = parseIptablesSave(TWO_RUNS, {family: 'ipv4', backend: 'nft', onlyMarkRules: true}).facts.tables[0]!.chains
    // `jumps` is a getter (unbuilt-rules.ts): read, not compared as an own property.
    expect(Object.fromEntries(a.map((c) => [c.name, c.unbuilt && {rules: c.unbuilt.rules, jumps: c.unbuilt.jumps}]))).toEqual({
      PREROUTING: {rules: 3, jumps: ['A', 'NOWHERE']},
      A: {rules: 5, jumps: ['B', 'LATE']},
      B: {rules: 2, jumps: ['A', 'LATE']},
      LATE: {rules: 1, jumps: ['A']},
    })
    const g = xtChainGraph(parseIptablesSave(TWO_RUNS, {family: 'ipv4', backend: 'nft', onlyMarkRules: true}).facts.tables[0]!)
    expect(g.names).toEqual(['PREROUTING', 'A', 'B', 'LATE', 'NOWHERE'])
    expect(g.out).toEqual([[1, 4], [2, 3], [1, 3], [1], []])
  })
})

describe("a parsed table's chains by name: the parser's own numbering, the chain a Map would give", () => {
  for (const {name, text, opts} of iptablesSaveTexts()) {
    it(name, () => {
      for (const mode of [{}, {onlyMarkRules: true}, {lazy: {lateProblem: () => {}}}]) {
        for (const t of parseIptablesSave(text, {...opts, ...mode}).facts.tables) {
          const lookup = chainsByName(t)
          expect(lookup).not.toBeInstanceOf(Map) // the parser's, not one built here
          for (const c of t.chains) expect(lookup.get(c.name)).toBe(c)
          expect(lookup.get('NO-SUCH-CHAIN')).toBeUndefined()
        }
      }
    })
  }
})
