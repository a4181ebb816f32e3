// `nodeinspect marks --netns` against the real lab (prefix nilab-t<pid>m): the collide variant's owners found on
// node 1 with the right evidence, program ids, hooks, bits and findings; and a real kube-proxy ruleset loaded
// with iptables-restore into a lab namespace gives, read back live, the same uses as the fixture file itself.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {usagesFromXt} from '../../src/analyses/mark-sources/iptables.js'
import {UsageIds} from '../../src/analyses/mark-sources/usage.js'
import type {MarkUsage} from '../../src/analyses/mark-usage.js'
import {analyseMarks, type MarksReport} from '../../src/analyses/marks.js'
import {labRun} from '../../src/lab/exec.js'
import type {LabState} from '../../src/lab/state.js'
import {existingLabNamespaces, labDown} from '../../src/lab/teardown.js'
import {labUp} from '../../src/lab/up.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'
import {cli} from '../helpers/cli.js'
import {testdata} from '../helpers/fixtures.js'
import {LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from './live.js'

const skipReason = liveLabSkipReason(['iptables-restore', 'iptables-save'])
if (skipReason) console.warn(`test/lab/marks.integration.test.ts: skipping: ${skipReason}`)

const prefix = `nilab-t${process.pid}m`
const node1 = `${prefix}-node1`
const FIXTURE = 'fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt'

function marksJson(netns: string): MarksReport {
  const r = cli(['marks', '--netns', netns, '--json'])
  if (r.status !== 0) throw new Error(`marks --netns ${netns}: exit ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout) as MarksReport
}

/**
 * What must be equal between a live read and the fixture: everything about a use but its id, its line number in
 * the dump (the live dump has other line numbers) and the raw text (compared separately, after iptables's own
 * normalisation).
 */
function comparable(u: MarkUsage) {
  return {
    subsystem: u.subsystem,
    markKind: u.markKind,
    role: u.role,
    operation: u.operation,
    value: u.value,
    mask: u.mask,
    setsBits: u.setsBits,
    clearsBits: u.clearsBits,
    readsBits: u.readsBits,
    style: u.style,
    negated: u.negated ?? false,
    owner: u.owner ? `${u.owner.owner}/${u.owner.basis}/${u.owner.matched}` : undefined,
    table: u.where.table,
    chain: u.where.chain,
    position: u.where.position,
    hooks: [...u.where.hooks].sort(),
    evidence: u.evidence,
  }
}
const key = (u: ReturnType<typeof comparable>) => `${u.table}/${u.chain}/${u.position}/${u.role}/${u.operation}`

describe.skipIf(!!skipReason)(`marks on the lab's collide variant (${skipReason || 'root, BPF, netns, iptables'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  let state: LabState
  let report: MarksReport

  beforeAll(async () => {
    await sweepStaleLabs('m')
    const t0 = performance.now()
    state = await labUp({prefix, collide: true})
    console.log(`lab up --collide: ${Math.round(performance.now() - t0)} ms`)
    const t1 = performance.now()
    report = marksJson(node1)
    console.log(`marks --netns ${node1} --json: ${Math.round(performance.now() - t1)} ms, ${report.usages.length} uses, findings ${JSON.stringify(report.summary.findings)}`)
  })
  afterAll(async () => {
    await labDown(prefix)
    expect(existingLabNamespaces(prefix)).toEqual([])
  })

  it('the state says what the variant added: Cilium and Istio rules, ip rule 9, the 0x800 OR on node 1 from-container', () => {
    expect(state.variant).toBe('collide')
    expect(state.collide).toMatchObject({node: 'node1', owners: ['cilium', 'istio'], markOr: {value: 0x800, define: '-DNI_MARK_OR=0x800', object: 'bpf_lxc.o', devname: 'lxc48c4aa0637ce', kind: 'clsact/ingress', hook: 'from-container', marksHook: 'tc ingress lxc48c4aa0637ce'}})
    const a = state.attachments.find((x) => x.node === 'node1' && x.devname === 'lxc48c4aa0637ce')!
    expect(state.collide!.markOr.progId).toBe(a.progId)
    expect(state.objects.filter((o) => o.defines.includes('-DNI_MARK_OR=0x800')).map((o) => `${o.node} ${o.object}`)).toEqual(['node1 bpf_lxc.o'])
    expect(state.netfilter.ip.map((c) => `${c.variant} ${c.owner} ${c.command}`)).toEqual(['collide cilium rule add pref 9 fwmark 0x200/0xf00 lookup 2004', 'collide cilium route add local 0.0.0.0/0 dev lo table 2004'])
    // iptables-save's normalisation of the whole-mark writer: --set-mark 0x1337 is --set-xmark 0x1337/0xffffffff.
    expect(state.netfilter.rules.find((r) => r.owner === 'istio' && r.rule.includes('--set-mark'))!.saved).toBe('-A ISTIO_OUTPUT -p tcp -m owner --uid-owner 1337 -j MARK --set-xmark 0x1337/0xffffffff')
  })

  it('lab status shows the variant (built CLI)', () => {
    const r = cli(['lab', 'status', '--prefix', prefix])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`lab ${prefix} (variant collide):`)
    expect(r.stdout).toContain('variant collide on node1: rules of cilium, istio added')
    expect(r.stdout).toContain(`eBPF: bpf_lxc.o on node1 lxc48c4aa0637ce(43) clsact/ingress (from-container) id ${state.collide!.markOr.progId} ORs 0x800 into skb->mark (-DNI_MARK_OR=0x800)`)
    expect(r.stdout).toContain('  ip rule add pref 9 fwmark 0x200/0xf00 lookup 2004 (cilium)')
  })

  it('finds the ISTIO_OUTPUT whole-mark writer, owned by Istio by its chain', () => {
    const w = report.usages.filter((u) => u.where.chain === 'ISTIO_OUTPUT' && u.role === 'set')
    expect(w).toHaveLength(1)
    expect(w[0]).toMatchObject({subsystem: 'iptables', style: 'whole', value: 0x1337, setsBits: 0x1337, clearsBits: ~0x1337 >>> 0, evidence: 'rule', owner: {owner: 'istio', basis: 'chain', matched: 'ISTIO_OUTPUT'}, where: {table: 'mangle', hooks: ['mangle/OUTPUT']}})
    expect(w[0]!.raw).toBe(state.netfilter.rules.find((r) => r.chain === 'ISTIO_OUTPUT' && r.table === 'mangle')!.saved)
    // The Istio match inside Cilium's nibble, and Kubernetes's masquerade mark (--or-mark 0x4000), are there too.
    expect(report.usages.find((u) => u.where.chain === 'ISTIO_OUTPUT' && u.role === 'match')).toMatchObject({value: 0x111, mask: 0xfff, owner: {owner: 'istio'}, where: {table: 'nat'}})
    expect(report.usages.find((u) => u.where.chain === 'KUBE-MARK-MASQ')).toMatchObject({role: 'set', value: 0x4000, mask: 0x4000, style: 'bitwise', owner: {owner: 'kubernetes'}})
    expect(report.usages.find((u) => u.subsystem === 'ip-rule')).toMatchObject({role: 'route', value: 0x200, mask: 0xf00, owner: {owner: 'cilium', basis: 'ip-rule-table'}, where: {priority: 9, selects: 'lookup 2004'}})
  })

  it("finds the eBPF OR of 0x800 from the program's instructions, on the right program id and hook", () => {
    const m = state.collide!.markOr
    const e = report.usages.filter((u) => u.subsystem === 'ebpf')
    expect(e.length).toBeGreaterThanOrEqual(1)
    for (const u of e) {
      expect(u).toMatchObject({evidence: 'program', role: 'set', style: 'bitwise', value: 0x800, mask: 0x800, setsBits: 0x800, clearsBits: 0, owner: {owner: 'cilium', basis: 'program'}})
      expect(u.where.progId).toBe(m.progId)
      expect(u.where.hooks).toEqual([m.marksHook])
      expect(u.operation).toBe('skb->mark: mark |= 0x800')
      expect(u.raw).toMatch(/\*\(u32 \*\)\(r\d+ \+\d+\) = r\d+/)
    }
    // No other program on node 1 touches the mark.
    expect(new Set(e.map((u) => u.where.progId))).toEqual(new Set([m.progId]))
  })

  it('the bit table: 0x800 set by Cilium (and Istio clears it), 14/15 Kubernetes, Istio alone below the nibble', () => {
    const bit = (b: number) => report.bits.find((r) => r.bit === b)!
    expect(bit(11)).toMatchObject({hex: '0x800', owner: 'shared'})
    expect(bit(11).setBy).toContain('cilium')
    expect(bit(11).clearedBy).toContain('istio')
    expect(bit(11).matchedBy).toEqual(expect.arrayContaining(['cilium', 'istio']))
    expect(bit(11).usages).toEqual(expect.arrayContaining(report.usages.filter((u) => u.subsystem === 'ebpf').map((u) => u.id)))
    // Cilium's 0xa00/0xfffffeff compare reads bits 14/15 too (it needs them clear), without owning them.
    for (const b of [14, 15]) {
      expect(bit(b)).toMatchObject({owner: 'kubernetes', setBy: ['kubernetes']})
      expect(bit(b).matchedBy).toEqual(['cilium', 'kubernetes'])
    }
    expect(bit(8)).toMatchObject({owner: 'shared'})
    expect(bit(8).setBy).toEqual(['istio'])
    expect(bit(0)).toMatchObject({owner: 'istio'})
    expect(report.bitmap.slice(31 - 15, 31 - 13)).toBe('KK')
    expect(report.bitmap.slice(31 - 11, 31 - 7)).toBe('****')
    expect(report.summary.owners).toEqual(['cilium', 'istio', 'kubernetes'])
    expect(report.summary.unattributed).toBe(0)
  })

  it('findings: Istio clobbers the whole mark (Kubernetes and Cilium bits); owners overlap in the 0xf00 nibble', () => {
    const istioWrite = report.usages.find((u) => u.where.chain === 'ISTIO_OUTPUT' && u.role === 'set')!
    const clobber = report.findings.find((f) => f.kind === 'whole-mark-clobber' && f.usages.includes(istioWrite.id))!
    expect(clobber).toMatchObject({severity: 'high', owners: expect.arrayContaining(['istio', 'kubernetes', 'cilium'])})
    expect(clobber.message).toMatch(/^Istio writes the whole mark \(.*0x1337.*\), clobbering .* used by .*Kubernetes.*/)
    expect(clobber.message).toContain('Cilium')
    // Kubernetes's bits 14/15 and Cilium's nibble bits that 0x1337 does not set are among the clobbered bits.
    expect(Number(clobber.bits) & 0xc000).toBe(0xc000)
    expect(Number(clobber.bits) & 0xc00).toBe(0xc00)
    const nibble = report.findings.filter((f) => f.kind === 'owner-overlap' && (Number(f.bits) & 0xf00) !== 0 && f.owners.includes('istio') && f.owners.includes('cilium'))
    expect(nibble.length).toBeGreaterThanOrEqual(2)
    // The eBPF OR itself lands on Istio's 0x111/0xfff match.
    const ebpf = new Set(report.usages.filter((u) => u.subsystem === 'ebpf').map((u) => u.id))
    expect(nibble.some((f) => f.usages.some((id) => ebpf.has(id)) && (Number(f.bits) & 0x800) !== 0)).toBe(true)
  })

  it(`a real ruleset (${FIXTURE}) restored into the lab's redis netns reads back live with the same uses: operations, owners, chains, positions, hooks`, async () => {
    const target = `${prefix}-n2-redis`
    const text = testdata(FIXTURE)
    await labRun('load fixture', ['iptables-restore'], {netns: target, input: text})
    const live = marksJson(target)
    // From the file itself: the project's own parser and use extraction (every rule parsed, default jump graph).
    const parsed = parseIptablesSave(text, {family: 'ipv4', backend: 'nft'})
    // The only remark: the fixture was saved by iptables 1.8.4 without "(nf_tables)" in its header, so the parser
    // says it cannot tell the backend; the live dump (1.8.9, nf_tables) is read as the nft backend.
    expect(parsed.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^header has no "\(nf_tables\)" \("iptables-save v1\.8\.4"\)/)])
    const fromFile = usagesFromXt(parsed.facts, new UsageIds())
    expect(fromFile.map((u) => `${u.where.table}/${u.where.chain}/${u.where.position} ${u.operation} ${u.owner?.owner} [${u.where.hooks.join(', ')}]`)).toEqual([
      'filter/KUBE-FIREWALL/1 -m mark --mark 0x8000/0x8000 kubernetes [filter/INPUT, filter/OUTPUT]',
      'filter/KUBE-FORWARD/2 -m mark --mark 0x4000/0x4000 kubernetes [filter/FORWARD]',
      'nat/KUBE-MARK-DROP/1 -j MARK packet set-xmark 0x8000/0x8000 kubernetes [unreachable (no built-in chain jumps here)]',
      'nat/KUBE-MARK-MASQ/1 -j MARK packet set-xmark 0x4000/0x4000 kubernetes [nat/PREROUTING, nat/OUTPUT]',
      'nat/KUBE-POSTROUTING/1 -m mark ! --mark 0x4000/0x4000 kubernetes [nat/POSTROUTING]',
      'nat/KUBE-POSTROUTING/2 -j MARK packet set-xmark 0x4000/0x0 kubernetes [nat/POSTROUTING]',
    ])
    // A pod netns has no programs on hooks, no fwmark ip rules, no xfrm, no marked sockets: only iptables uses.
    expect(live.summary.subsystems).toEqual({iptables: fromFile.length})
    const a = live.usages.map(comparable).sort((x, y) => key(x).localeCompare(key(y)))
    const b = fromFile.map(comparable).sort((x, y) => key(x).localeCompare(key(y)))
    expect(a).toEqual(b)
    // The rule text too: iptables 1.8.9 prints these rules exactly as the fixture's 1.8.4 dump did (see below).
    const rawOf = (us: MarkUsage[]) => us.map((u) => `${u.where.table}/${u.where.chain}/${u.where.position}: ${u.raw}`).sort()
    expect(rawOf(live.usages)).toEqual(rawOf(fromFile))
    // Same uses, same analysis: findings and bits computed from the file equal the live ones (ids aside).
    const fileReport = analyseMarks(live.node, fromFile, [])
    const idKey = (us: MarkUsage[]) => new Map(us.map((u) => [u.id, key(comparable(u))]))
    const liveIds = idKey(live.usages)
    const fileIds = idKey(fromFile)
    const findings = (r: MarksReport, ids: Map<string, string>) => r.findings.map((f) => `${f.kind} ${f.severity} ${f.bits} ${f.owners.join(',')} ${f.usages.map((u) => ids.get(u)).join(' | ')}`).sort()
    expect(findings(live, liveIds)).toEqual(findings(fileReport, fileIds))
    expect(live.bitmap).toBe(fileReport.bitmap)
    // What iptables changed when it loaded the file and printed it back: only the counters ([n:m] -> [0:0]), the
    // "# Generated/Completed" comments (now "v1.8.9 (nf_tables)") and the blank lines between tables. Tables, chain
    // declarations and rules come back in the same order, byte for byte: this 1.8.4 dump already had MARK in its
    // saved form (--set-xmark value/mask). The lab's own rules show the normalisation a writer sees: --or-mark,
    // --xor-mark and --set-mark are saved as --set-xmark (state.netfilter.rules[].saved; lab.integration.test.ts).
    const save = (await labRun('save fixture', ['iptables-save'], {netns: target})).stdout
    const body = (t: string) => t.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
    expect(body(save)).toEqual(body(text))
  })
})
