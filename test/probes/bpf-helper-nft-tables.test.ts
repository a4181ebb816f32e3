// The helper's `nft-tables` output: parsed from a recording (testdata/nft-tables/make.sh) and checked against what
// nft printed for the same netns; then the shapes the recording cannot show (no nf_tables, errors, odd entries).
import {describe, expect, it} from 'vitest'
import {parseBpfHelperNftTables} from '../../src/probes/bpf-helper-nft-tables.js'
import {parseNftChainsJson} from '../../src/probes/nft-ruleset.js'
import {testdata} from '../helpers/fixtures.js'

const HEAD = '"helper":"nodeinspect-bpf","version":1'
type NftItem = Record<string, {family: string; name?: string; table?: string; handle: number}>

describe('parseBpfHelperNftTables (recorded)', () => {
  const {facts, problems} = parseBpfHelperNftTables(testdata('nft-tables/helper.json'))
  const ruleset = (JSON.parse(testdata('nft-tables/nft-list-ruleset.json')) as {nftables: NftItem[]}).nftables

  it('every table of the netns, in the order nft lists them, with the same handles', () => {
    expect(problems).toEqual([])
    expect(facts.supported).toBe(true)
    const nftTables = ruleset.filter((x) => x.table).map((x) => ({family: x.table!.family, name: x.table!.name, handle: x.table!.handle}))
    expect(facts.tables.map((t) => ({family: t.family, name: t.name, handle: t.handle}))).toEqual(nftTables)
    // iptables-nft's tables and the native ones of every family, in the order they were made.
    expect(facts.tables.map((t) => `${t.family} ${t.name}`)).toEqual(['ip mangle', 'ip nat', 'inet ni_a', 'ip ni_b', 'arp ni_c', 'netdev ni_d', 'bridge ni_e', 'ip6 raw'])
  })

  it('use is the kernel table->use: chains, named sets and stateful objects (not only chains)', () => {
    const count = (t: {family: string; name: string}, kind: string) => ruleset.filter((x) => x[kind] && x[kind].family === t.family && x[kind].table === t.name).length
    for (const t of facts.tables) expect(t.use, `${t.family} ${t.name}`).toBe(count(t, 'chain') + count(t, 'set') + count(t, 'counter'))
    expect(facts.tables.find((t) => t.name === 'ni_b')!.use).toBe(3)
  })

  it('flags: the dormant table has NFT_TABLE_F_DORMANT (nft 1.0.6 -j prints that flag as the table\'s name)', () => {
    expect(facts.tables.filter((t) => t.flags !== 0).map((t) => [t.name, t.flags])).toEqual([['ni_e', 1]])
  })

  it('the same tables and order as `nft -j list chains`, which cannot name a table without chains', () => {
    const chains = parseNftChainsJson(testdata('nft-tables/nft-list-chains.json'))
    expect(chains.problems).toEqual([])
    expect(chains.facts.map((t) => `${t.family} ${t.name}`)).toEqual(facts.tables.filter((t) => t.use !== 0).map((t) => `${t.family} ${t.name}`))
    expect(facts.tables.filter((t) => t.use === 0).map((t) => t.name)).toEqual(['ni_d'])
  })
})

describe('parseBpfHelperNftTables: what a recording cannot show', () => {
  it('a kernel without nf_tables: no table, not supported, and the note that says how the helper knew', () => {
    const note = 'NFT_MSG_GETTABLE: Invalid argument: nfnetlink has no nf_tables subsystem in this kernel, so no nf_tables table'
    expect(parseBpfHelperNftTables(`{${HEAD},"supported":false,"errno":22,"note":${JSON.stringify(note)},"tables":[]}`)).toEqual({facts: {tables: [], supported: false, note}, problems: []})
  })

  it('the helper\'s error, another program\'s output, or no JSON: unusable, so nft is asked instead', () => {
    const unusable = (t: string) => parseBpfHelperNftTables(t).facts.unusable
    expect(unusable('{"error":"NFT_MSG_GETTABLE: Operation not permitted (needs CAP_NET_ADMIN in this network namespace)"}')).toBe('helper error: NFT_MSG_GETTABLE: Operation not permitted (needs CAP_NET_ADMIN in this network namespace)')
    expect(unusable(`{${HEAD},"queried":3,"attachments":[]}`)).toMatch(/^unknown helper output/)
    expect(unusable(`{"helper":"other","version":1,"supported":true,"tables":[]}`)).toMatch(/^unknown helper output/)
    expect(unusable('')).toBeDefined()
    expect(unusable('[]')).toBe('expected a JSON object')
    expect(unusable(`{${HEAD},"supported":true,"tables":[]}`)).toBeUndefined()
  })

  it('an entry without a name or of a family nft cannot name is a problem and left out; the rest is the answer', () => {
    const r = parseBpfHelperNftTables(`{${HEAD},"supported":true,"tables":[{"family":"ip","name":"a","handle":1,"use":2,"flags":0},{"family":12,"name":"odd","handle":2},{"family":"ip","handle":3},{"family":"inet","name":"b","handle":-1,"use":"x"}]}`)
    expect(r.facts.tables).toEqual([{family: 'ip', name: 'a', handle: 1, use: 2, flags: 0}, {family: 'inet', name: 'b'}])
    expect(r.problems.map((p) => p.message)).toEqual(['table odd of unknown family 12: not read', 'table entry lacks its name'])
  })

  it('a dump the kernel flagged interrupted on every try: the tables, and a problem saying they may be incomplete', () => {
    const r = parseBpfHelperNftTables(`{${HEAD},"supported":true,"tables":[{"family":"ip","name":"a"}],"dump_interrupted":true}`)
    expect(r.facts.tables).toEqual([{family: 'ip', name: 'a'}])
    expect(r.problems.map((p) => p.message)).toEqual(['the table list kept changing while it was read (NLM_F_DUMP_INTR on every try): it may be incomplete'])
  })
})
