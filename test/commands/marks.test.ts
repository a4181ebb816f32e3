import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {gzipSync} from 'node:zlib'
import {afterAll, describe, expect, it} from 'vitest'
import {cli, expectFailure} from '../helpers/cli.js'
import {golden} from '../helpers/fixtures.js'

const SNAP = 'testdata/snapshots/marks-node.json'

describe('nodeinspect marks on a recorded node (testdata/snapshots/make-marks-node.sh)', () => {
  it('prints the bit map, findings, fields, bits, uses and flows (golden)', async () => {
    const r = cli(['marks', '--snapshot', SNAP], {env: {COLUMNS: '140'}})
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    await expect(r.stdout).toMatchFileSnapshot(golden('marks/marks-node.txt'))
  })

  it('the bit table lists the bits set or matched; --all-bits lists all 32; --json always has 32', () => {
    const rows = (out: string) => [...out.matchAll(/^│ (\d+) +│ (0x[0-9a-f]+) /gm)].map((m) => Number(m[1]))
    const inUse = cli(['marks', '--snapshot', SNAP], {env: {COLUMNS: '140'}}).stdout
    // The bit map: ........TTTTTTTT.K.C****..III..I. Bits 31-24, 15, 13, 7, 6, 2 and 1 are only cleared by whole-mark writers.
    expect(rows(inUse)).toEqual([23, 22, 21, 20, 19, 18, 17, 16, 14, 12, 11, 10, 9, 8, 5, 4, 3, 0])
    expect(inUse).toContain('Bits of the packet mark set or matched (18 of 32; --all-bits lists the others)')
    const all = cli(['marks', '--snapshot', SNAP, '--all-bits'], {env: {COLUMNS: '140'}}).stdout
    expect(rows(all)).toEqual(Array.from({length: 32}, (_, i) => 31 - i))
    expect(JSON.parse(cli(['marks', '--snapshot', SNAP, '--json']).stdout).bits).toHaveLength(32)
  })

  it('--json: owners from every subsystem, nothing guessed', () => {
    const r = cli(['marks', '--snapshot', SNAP, '--json'])
    expect(r.status).toBe(0)
    const d = JSON.parse(r.stdout)
    expect(d.schema).toBe('nodeinspect.marks/v2')
    expect(d.bitmap).toBe('........TTTTTTTT.K.C****..III..I')
    expect(d.summary.subsystems).toEqual({iptables: 9, nft: 3, 'ip-rule': 3, xfrm: 1, socket: 1})
    const by = (sub: string) => d.usages.filter((u: {subsystem: string}) => u.subsystem === sub)
    // kube-proxy's nftables mode, read from its native table (not twice through iptables-save)
    expect(by('nft').map((u: {owner: {owner: string; basis: string}}) => `${u.owner.owner}/${u.owner.basis}`)).toEqual(['kubernetes/nft-table', 'kubernetes/nft-table', 'kubernetes/nft-table'])
    expect(by('socket')[0]).toMatchObject({operation: 'SO_MARK 0x80000 (tailscaled)', owner: {owner: 'tailscale', basis: 'process'}, evidence: 'kernel', style: 'whole'})
    expect(by('xfrm')[0]).toMatchObject({role: 'lookup', value: 0xe00, mask: 0xf00, evidence: 'kernel'})
    expect(by('ip-rule').map((u: {owner?: {owner: string}}) => u.owner?.owner)).toEqual(['cilium', 'istio', 'tailscale'])
    // the whole-connmark restore has no owner signal: unattributed, never guessed
    expect(d.usages.find((u: {role: string}) => u.role === 'restore').owner).toBeUndefined()
    expect(d.findings.filter((f: {severity: string}) => f.severity === 'high').map((f: {kind: string}) => f.kind).sort()).toEqual(['connmark-cross-owner', 'whole-mark-clobber', 'whole-mark-clobber'])
    // flows are groups; the pairs only with --flows or a focus
    expect(d.flowPairs).toBeUndefined()
    expect(d.summary.flows.pairs).toBe(d.flows.reduce((n: number, g: {pairs: number}) => n + g.pairs, 0))
    expect(d.flows[0]).toMatchObject({path: expect.any(String), from: {owner: expect.any(String), operation: expect.any(String), uses: expect.any(Number)}, to: {values: expect.any(Array)}, examples: expect.any(Array)})
  })

  it('--rule u3 shows that use and every read it reaches, pair by pair', () => {
    const d = JSON.parse(cli(['marks', '--snapshot', SNAP, '--rule', 'u3', '--json']).stdout)
    expect(d.focus).toEqual({rule: 'u3'})
    expect(d.usages.map((u: {id: string}) => u.id)).toEqual(['u3'])
    const all = JSON.parse(cli(['marks', '--snapshot', SNAP, '--flows', '--json']).stdout)
    const mine = all.flowPairs.filter((f: {from: string; to: string}) => f.from === 'u3' || f.to === 'u3')
    expect(mine.length).toBeGreaterThan(0)
    expect(d.flowPairs).toEqual(mine)
    expect(d.summary.flows.pairs).toBe(mine.length)
  })

  it('--rule by chain and position: the uses of that rule', () => {
    const all = JSON.parse(cli(['marks', '--snapshot', SNAP, '--json']).stdout)
    const u = all.usages.find((x: {where: {chain?: string}}) => x.where.chain !== undefined)
    const d = JSON.parse(cli(['marks', '--snapshot', SNAP, '--rule', `${u.where.table}/${u.where.chain}#${u.where.position}`, '--json']).stdout)
    expect(d.usages.map((x: {id: string}) => x.id)).toContain(u.id)
    expect(d.usages.every((x: {where: {chain?: string; position?: number}}) => x.where.chain === u.where.chain && x.where.position === u.where.position)).toBe(true)
  })

  it('--bit 14 shows only the masquerade bit and its uses', () => {
    const d = JSON.parse(cli(['marks', '--snapshot', SNAP, '--bit', '14', '--json']).stdout)
    expect(d.bits).toHaveLength(1)
    // whole-mark writers (Cilium's socket rule, Istio, SO_MARK) clear it; only kube-proxy sets or matches it
    expect(d.bits[0]).toMatchObject({bit: 14, owner: 'kubernetes', setBy: ['kubernetes'], matchedBy: ['kubernetes'], clearedBy: ['unattributed', 'cilium', 'istio', 'kubernetes', 'tailscale']})
    expect(d.bitmap).toBe(`${' '.repeat(17)}K${' '.repeat(14)}`)
  })

  const bad: Array<[string[], RegExp]> = [
    [['--bit', '32'], /Expected an integer less than or equal to 31/],
    [['--mask', '0xzz'], /^nodeinspect: invalid --mask "0xzz": expected a 32-bit value such as 0xf00$/m],
    [['--mask', '0'], /invalid --mask "0": it selects no bit/],
    [['--bit', '3', '--mask', '0xf00'], /cannot also be provided/],
    [['--rule', 'u999'], /^nodeinspect: invalid --rule "u999": no mark use has the id u999 \(they run u1 to u17\)$/m],
    [['--rule', 'NO-SUCH-CHAIN'], /^nodeinspect: invalid --rule "NO-SUCH-CHAIN": no mark use in chain NO-SUCH-CHAIN$/m],
    [['--rule', 'a/b/c'], /invalid --rule "a\/b\/c": "a\/b\/c" is neither a use id \(u12\) nor \[TABLE\/\]CHAIN\[#POSITION\]/],
  ]
  for (const [args, re] of bad) {
    it(`rejects ${args.join(' ')} in one line`, () => {
      const r = cli(['marks', '--snapshot', SNAP, ...args])
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(re)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  }
})

describe('marks --snapshot DIR: the bits a fleet uses differently (issue 11)', () => {
  const dir = mkdtempSync(`${tmpdir()}/ni-fleet-`)
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  // Node b: Cilium's match on 0x200 widened to 0xff00 (an upgrade on half the fleet), gzip-compressed.
  const widened = () => {
    const s = JSON.parse(readFileSync(SNAP, 'utf8'))
    for (const o of s.outputs) if (o.argv[0] === 'iptables-save') o.stdout = o.stdout.replace('-A CILIUM_INPUT -m mark --mark 0x200/0xf00 -j ACCEPT', '-A CILIUM_INPUT -m mark --mark 0x200/0xff00 -j ACCEPT')
    return gzipSync(JSON.stringify(s))
  }
  it('--json: every node and the bits whose mask differs, under fleet', () => {
    writeFileSync(`${dir}/a.json`, readFileSync(SNAP))
    writeFileSync(`${dir}/b.json.gz`, widened())
    const r = cli(['marks', '--snapshot', dir, '--json'])
    expect(r.status).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.schema).toBe('nodeinspect.marks/v2')
    expect(doc.fleet.nodes.map((n: {name: string; file: string}) => `${n.name} ${n.file}`)).toEqual([`a.json ${dir}/a.json`, `b.json.gz ${dir}/b.json.gz`])
    // Bits 8-12 were Cilium's on both, now with another mask too on b; bits 13-15 were not Cilium's on a (14 is
    // kube-proxy's masquerade bit; Istio's whole-mark write, unattributed here, covers them all).
    expect(doc.fleet.drift.map((d: {bit: number; kind: string; owner?: string}) => `${d.bit} ${d.kind}${d.owner ? ` ${d.owner}` : ''}`)).toEqual([
      '15 owners-differ',
      '14 owners-differ',
      '13 owners-differ',
      '12 mask-differs cilium',
      '11 mask-differs cilium',
      '10 mask-differs cilium',
      '9 mask-differs cilium',
      '8 mask-differs cilium',
    ])
    expect(doc.fleet.drift[1].message).toBe('bit 14 (0x4000) is used by kubernetes and unattributed on a.json; cilium and kubernetes and unattributed on b.json.gz')
    expect(doc.fleet.drift[4].message).toBe('bit 11 (0x800): cilium uses it with mask 0xf00 on a.json; 0xf00, 0xff00 on b.json.gz')
  })
  it('text: a bit-map line per node and the drift table', () => {
    const r = cli(['marks', '--snapshot', dir])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`fleet: 2 snapshots from ${dir}`)
    expect(r.stdout).toMatch(/a\.json\s+\.\.\.\.\.\.\.\.TTTTTTTT\.K\.C\*\*\*\*\.\.III\.\.I\s+17/)
    expect(r.stdout).toContain('drift: 8 bits used differently across nodes')
    expect(r.stdout).toContain('b.json.gz: cilium 0xf00, 0xff00')
  })
  it('refuses a one-node focus on a folder', () => {
    const argv = ['marks', '--snapshot', dir, '--bit', '9', '--json']
    expectFailure(cli(argv), argv, 2, `--snapshot ${dir} is a folder: its nodes are compared bit by bit; --bit, --mask, --rule and --flows take one node's snapshot`)
  })
})
