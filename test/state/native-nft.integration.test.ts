// Where marks and trace find the native nft tables, on a real netns: the helper lists the tables (one nfnetlink
// dump), nft lists only the native ones, and `nft -j list chains` (5 MB of JSON at 40k chains) runs only where the
// helper cannot answer; a node whose only tables are iptables-nft's runs no nft at all. Then the same through a
// snapshot, and an older snapshot (the chain list recorded, no helper answer) replayed as it was taken.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {existsSync} from 'node:fs'
import {markUsagesOf} from '../../src/analyses/mark-uses.js'
import type {NodeState} from '../../src/model/node-state.js'
import {INTERNAL_PROBES} from '../../src/probes/internal.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {BPF_HELPER, LiveSource} from '../../src/source/live.js'
import {runCommand} from '../../src/source/run-command.js'
import {RecordingSource, SnapshotSource} from '../../src/source/snapshot.js'
import {INTERNAL, type RawOutput, type RunRequest, type Source} from '../../src/source/types.js'
import {buildNodeState} from '../../src/state/build.js'
import {ROOT} from '../helpers/fixtures.js'
import {snapshotSource} from '../helpers/nodes.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

const skip = liveSkipReason(['nft', 'iptables-restore']) ?? (existsSync(bpfHelperPath()) ? undefined : `no helper binary at ${bpfHelperPath()} (run: make -C native)`)
if (skip) console.warn(`test/state/native-nft.integration.test.ts: skipping the live part: ${skip}`)

const CHAINS = 'nft -j list chains'
const HELPER = 'nodeinspect-bpf nft-tables'

/** Every probe run inside the netns (by its holder's ns file), the helper by its path; each command line asked is kept. */
class NetnsSource implements Source {
  readonly asked: string[] = []
  /** The in-process probes (the sk_buff layout from the kernel's BTF): the same in every netns. */
  private readonly host = new LiveSource({internal: INTERNAL_PROBES})
  constructor(
    private readonly ns: TestNetns,
    private readonly opts: {helper: boolean},
  ) {}
  get meta() {
    return this.ns.source.meta
  }
  run(req: RunRequest): Promise<RawOutput> {
    this.asked.push(req.argv.join(' '))
    if (req.argv[0] === INTERNAL) return this.host.run(req)
    if (req.argv[0] !== BPF_HELPER) return this.ns.source.run(req)
    // No helper: what a LiveSource answers when it is not built.
    if (!this.opts.helper) return Promise.resolve({argv: [...req.argv], stdout: '', stderr: '', exitCode: null, failure: 'missing-binary', message: `${req.argv.join(' ')}: ${BPF_HELPER} is not installed (not found in PATH)`, durationMs: 0})
    return runCommand({file: 'nsenter', args: [`--net=${this.ns.path}`, '--', bpfHelperPath(), ...req.argv.slice(1)], logicalArgv: req.argv, input: req.input, timeoutMs: req.timeoutMs ?? 60_000})
  }
}

const nftRuns = (asked: readonly string[]) => asked.filter((a) => a.startsWith('nft ')).sort()
/** The mark uses nft rules make, as a report lists them. */
const nftUses = (s: NodeState) => markUsagesOf(s).filter((u) => u.subsystem === 'nft').map((u) => `${u.where.place}: ${u.operation}`)

describe.skipIf(!!skip)('native nft tables found by the helper (real kernel)', () => {
  let mixed: TestNetns
  let xtOnly: TestNetns

  beforeAll(async () => {
    mixed = await createTestNetns('nftmixed')
    xtOnly = await createTestNetns('nftxt')
    const rules = '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x40/0x40\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n'
    for (const ns of [mixed, xtOnly]) await ns.sh(['iptables-restore'], rules)
    await mixed.sh(['nft', '-f', '-'], 'table inet ni_a {\n\tchain pre {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\tmeta mark set meta mark | 0x10\n\t}\n}\ntable ip ni_b {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\tmeta mark & 0x20 == 0x20 accept\n\t}\n}\n')
  })

  afterAll(async () => {
    await mixed?.close()
    await xtOnly?.close()
  })

  it('marks: the helper names the tables, nft lists the two native ones only, and nft -j list chains never runs', async () => {
    const src = new NetnsSource(mixed, {helper: true})
    const state = await buildNodeState(src, {marks: true})
    expect(src.asked).toContain(HELPER)
    expect(nftRuns(src.asked)).toEqual(['nft -j list table inet ni_a', 'nft -j list table ip ni_b'])
    expect(state.nftTableOrder).toEqual(['ip mangle', 'ip nat', 'inet ni_a', 'ip ni_b'])
    expect(state.nft?.map((t) => `${t.family} ${t.name}`)).toEqual(['inet ni_a', 'ip ni_b'])
    expect(nftUses(state)).toEqual(['nft inet ni_a pre #1: meta mark set packet = (packet & 0xffffffef) ^ 0x10', 'nft ip ni_b out #1: meta mark & 0x20 == 0x20'])
    expect(state.warnings).toEqual([])
    expect(state.markSourcesRead).toContainEqual({probe: HELPER})
    expect(state.markSourcesRead.some((s) => s.probe === CHAINS)).toBe(false)
  })

  it('trace reads the same tables the same way', async () => {
    const src = new NetnsSource(mixed, {helper: true})
    const state = await buildNodeState(src, {trace: true})
    expect(nftRuns(src.asked)).toEqual(['nft -j list table inet ni_a', 'nft -j list table ip ni_b'])
    expect(state.nftTableOrder).toEqual(['ip mangle', 'ip nat', 'inet ni_a', 'ip ni_b'])
    expect(state.nft?.flatMap((t) => t.chains.map((c) => `${t.name}/${c.name}: ${c.rules.length} rule`))).toEqual(['ni_a/pre: 1 rule', 'ni_b/out: 1 rule'])
  })

  it('only the tables iptables-save showed: no nft process at all', async () => {
    const src = new NetnsSource(xtOnly, {helper: true})
    const state = await buildNodeState(src, {marks: true})
    expect(src.asked).toContain(HELPER)
    expect(nftRuns(src.asked)).toEqual([])
    expect(state.nftTableOrder).toEqual(['ip mangle', 'ip nat'])
    expect(state.nft).toEqual([])
    expect(state.warnings).toEqual([])
  })

  it('without the helper: nft -j list chains names the tables, with the same answer and no extra warning', async () => {
    const withHelper = await buildNodeState(new NetnsSource(mixed, {helper: true}), {marks: true})
    const src = new NetnsSource(mixed, {helper: false})
    const state = await buildNodeState(src, {marks: true})
    expect(nftRuns(src.asked)).toEqual([CHAINS, 'nft -j list table inet ni_a', 'nft -j list table ip ni_b'])
    expect(state.nftTableOrder).toEqual(withHelper.nftTableOrder)
    expect(nftUses(state)).toEqual(nftUses(withHelper))
    // The missing helper is hooks' warning (tcx/netkit), the only one: the tables lost nothing.
    expect(state.warnings.map((w) => w.probe)).toEqual(['nodeinspect-bpf query'])
    expect(state.markSourcesRead).toContainEqual({probe: CHAINS})
  })

  it('a snapshot records the helper\'s table list and no chain list, and replays to the same answer', async () => {
    const rec = new RecordingSource(new NetnsSource(mixed, {helper: true}))
    const live = await buildNodeState(rec, {marks: true, trace: true})
    const snap = rec.toSnapshot()
    const recorded = snap.outputs.map((o) => o.argv.join(' '))
    expect(recorded).toContain(HELPER)
    expect(recorded).not.toContain(CHAINS)
    const replay = await buildNodeState(new SnapshotSource(JSON.parse(JSON.stringify(snap)) as typeof snap), {marks: true, trace: true})
    expect(replay.nftTableOrder).toEqual(live.nftTableOrder)
    expect(nftUses(replay)).toEqual(nftUses(live))
    expect(replay.warnings).toEqual(live.warnings)
  })
})

describe('an older snapshot (nft -j list chains recorded, no nft-tables answer) replays as it was taken', () => {
  it('asks the helper, finds it not recorded, and reads the recorded chain list without a word about it', async () => {
    const file = `${ROOT}testdata/snapshots/marks-node.json`
    const inner = await snapshotSource(file)
    const asked: string[] = []
    const src: Source = {meta: inner.meta, run: (req) => (asked.push(req.argv.join(' ')), inner.run(req))}
    const state = await buildNodeState(src, {marks: true})
    expect(asked.filter((a) => a === HELPER || a.startsWith('nft '))).toEqual([HELPER, CHAINS, 'nft -j list table ip kube-proxy'])
    expect(state.nftTableOrder).toContain('ip kube-proxy')
    expect(state.warnings.some((w) => w.probe === HELPER)).toBe(false)
    expect(state.markSourcesRead).toContainEqual({probe: CHAINS})
  })
})
