// `nodeinspect trace` against real packets in the lab: for five flows, send a real probe from the curl pod, read
// what actually happened (the lab programs' recording map for eBPF hooks, `nft monitor trace` with `meta nftrace
// set 1` for netfilter on node 1, the listener's view of the source address), and compare with the predicted path
// step by step. A disagreement names the step.
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {TraceReport} from '../../src/analyses/path/trace.js'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import {labDown} from '../../src/lab/teardown.js'
import {labUp} from '../../src/lab/up.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {readFlowPath, type FlowTuple} from '../support/flow-path.js'
import {sendProbe, type ProbeResult} from '../support/lab-probe.js'
import {traceGroups, traceVerdict, withNftTrace, type TraceEvent} from '../support/nft-trace.js'
import {cli} from '../helpers/cli.js'
import {LIVE_LAB_TEST_TIMEOUT} from './live.js'

const pre = checkLabPrerequisites()
const skipReason = [pre.reason, existsSync(bpfHelperPath()) ? '' : `no helper binary at ${bpfHelperPath()}`].filter(Boolean).join('; ')
if (skipReason) console.warn(`test/lab/trace.integration.test.ts: skipping: ${skipReason}`)

const prefix = `nilab-t${process.pid}t`
const node1 = `${prefix}-node1`
const node2 = `${prefix}-node2`
const CURL = '10.42.1.80'

/** The lab hook a predicted eBPF step corresponds to (the lab programs carry Cilium's names). */
function labHook(s: TraceReport['steps'][number]): string {
  const p = s.program
  if (p?.name === 'foreign_ingress') return 'foreign'
  if (s.kind === 'tail-call' || p?.name === 'handle_policy') return 'to-container'
  if (p?.role === 'xdp' || s.where.hook?.startsWith('xdp')) return 'xdp'
  return p?.role ?? p?.name ?? '?'
}

const nodeName = (label: string) => (label === node1 ? 'node1' : label === node2 ? 'node2' : label)

function predictedHooks(r: TraceReport): string[] {
  // A tail-called endpoint program belongs to (and the lab records it on) the endpoint's device.
  return r.steps.filter((s) => s.kind === 'bpf' || s.kind === 'tail-call').map((s) => `${nodeName(s.node)} ${s.where.endpoint ?? s.where.device} ${labHook(s)}`)
}

/** The netfilter rules the prediction says decided something: [table, chain, action]. */
function predictedRules(r: TraceReport): Array<{table: string; chain: string; action: string}> {
  return r.steps.filter((s) => s.kind === 'netfilter' && s.node === node1).flatMap((s) => (s.rules ?? []).filter((x) => !/^(jump|goto) |^RETURN$|^ACCEPT/.test(x.action)).map((x) => ({table: x.table, chain: x.chain, action: x.action})))
}

/**
 * Every base chain the prediction says the packet met on node 1, in order: each table at each hook that ran
 * (accepting ones included, since every hook is a step), for the packet itself (a tunnel's outer packet is not
 * traced: skb_scrub_packet clears nftrace).
 */
function predictedBaseChains(r: TraceReport): string[] {
  return r.steps
    .filter((s) => s.kind === 'netfilter' && s.node === node1 && !s.outer)
    .flatMap((s) => (s.tables ?? []).filter((t) => !/^(skipped|not reached)/.test(t.verdict)).map((t) => `${t.table} ${t.chain}`))
}

/** The base chains the kernel's trace shows the flow's first packet entering on node 1 (the trace's own table left out). */
function observedBaseChains(events: readonly TraceEvent[]): string[] {
  const first = traceGroups(events)[0]?.events ?? []
  return first.filter((e) => e.kind === 'packet' && !e.table.startsWith('nilab_trace')).map((e) => `${e.table} ${e.chain}`)
}

/** The mark predicted after each netfilter hook on node 1, by the base chain name iptables gives that hook (PREROUTING…). */
function predictedHookMarks(r: TraceReport): Array<[string, number]> {
  return r.steps.filter((s) => s.kind === 'netfilter' && s.node === node1 && !s.outer).map((s) => [(s.where.hook ?? '').replace(/^netfilter /, '').toUpperCase(), s.mark])
}

/** The mark the kernel's trace shows when the first packet left each hook by a base chain's policy (its last such line there). */
function observedHookMarks(events: readonly TraceEvent[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const e of traceGroups(events)[0]?.events ?? []) if (e.kind === 'policy' && !e.table.startsWith('nilab_trace')) out.set(e.chain, e.mark ?? 0)
  return out
}

interface Flow {
  name: string
  dst: string
  dport: number
  sport: number
  /** The same flow after NAT, for the recordings (see flowPath in test/support/flow-path.ts). */
  translated?: Array<Partial<FlowTuple>>
}

const FLOWS: Flow[] = [
  {name: 'pod to pod across nodes', dst: '10.42.0.51', dport: 80, sport: 42001},
  {name: 'pod to pod on one node', dst: '10.42.1.81', dport: 80, sport: 42002},
  {name: 'pod to a Service VIP (DNAT)', dst: '10.96.0.80', dport: 80, sport: 42003, translated: [{daddr: '10.42.0.51'}]},
  {name: 'pod to an outside address, masqueraded', dst: '172.31.0.2', dport: 80, sport: 42004, translated: [{saddr: '172.31.0.1'}]},
  {name: 'a flow dropped by a mark', dst: '10.42.0.52', dport: 6379, sport: 42005},
]

describe.skipIf(!!skipReason)(`trace against real packets in the lab (${skipReason || 'root, BPF, netns'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  beforeAll(async () => {
    await labUp({prefix})
  })
  afterAll(async () => {
    await labDown(prefix)
  })

  for (const f of FLOWS) {
    it(f.name, async () => {
      // Predict first (nothing sent yet), then send the real packet and observe it.
      const t = cli(['trace', CURL, `${f.dst}:${f.dport}`, '--sport', String(f.sport), '--netns', node1, '--netns', node2, '--json'])
      expect(t.stderr).toBe('')
      expect(t.status).toBe(0)
      const r = JSON.parse(t.stdout) as TraceReport
      let probe: ProbeResult | undefined
      const events: TraceEvent[] = await withNftTrace(node1, {saddr: CURL, daddr: f.dst, proto: 'tcp', sport: f.sport}, async () => {
        probe = await sendProbe(prefix, {fromPod: 'curl', dst: f.dst, dport: f.dport, sport: f.sport, timeoutMs: 1500})
      })
      const flow: FlowTuple = {saddr: CURL, daddr: f.dst, sport: f.sport, dport: f.dport, proto: 'tcp'}
      const observed = (await readFlowPath(prefix, flow, f.translated ? {translated: f.translated} : {})).map((s) => `${s.node} ${s.devname} ${s.hook}`)
      // 1. eBPF hooks: the predicted programs are exactly the hooks that saw the packet, in order
      expect(predictedHooks(r), `eBPF hooks differ for ${f.name}:\npredicted: ${predictedHooks(r).join(' → ')}\nobserved:  ${observed.join(' → ')}`).toEqual(observed)
      // 2. netfilter on node 1: every rule the prediction says acted shows in the kernel's trace, same table and chain
      for (const rule of predictedRules(r)) {
        const hit = events.find((e) => e.kind === 'rule' && e.table === rule.table && e.chain === rule.chain)
        expect(hit, `netfilter step differs for ${f.name}: predicted ${rule.table}/${rule.chain} ${rule.action}, the kernel's trace shows no rule there`).toBeDefined()
      }
      // 2b. every hook is a step: the base chains predicted are the ones the first packet entered, in order
      expect(predictedBaseChains(r), `netfilter base chains differ for ${f.name}`).toEqual(observedBaseChains(events))
      // 2c. the mark after each hook the packet left by a policy is the one predicted for that hook
      const marks = observedHookMarks(events)
      for (const [hook, mark] of predictedHookMarks(r)) if (marks.has(hook)) expect(marks.get(hook), `mark after ${hook} differs for ${f.name}`).toBe(mark)
      // 3. outcome: delivered ⇔ connected; dropped ⇔ dropped in netfilter's trace and never connected
      if (r.outcome.kind === 'delivered') {
        expect(probe?.connected, `outcome differs for ${f.name}: predicted delivered, the probe did not connect (${probe?.error})`).toBe(true)
      } else {
        expect(r.outcome.kind).toBe('dropped')
        expect(probe?.connected).toBe(false)
        expect(traceVerdict(events)).toBe('drop')
      }
      return {r, probe, events}
    })
  }

  it('trace --snapshot on the snapshots a live trace recorded (--record) gives exactly the live answer, route answers included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-record-'))
    try {
      for (const f of FLOWS) {
        const args = ['trace', CURL, `${f.dst}:${f.dport}`, '--sport', String(f.sport), '--json']
        const live = JSON.parse(cli([...args, '--netns', node1, '--netns', node2, '--record', dir]).stdout) as TraceReport
        const replayed = JSON.parse(cli([...args, '--snapshot', join(dir, `${node1}.json`), '--snapshot', join(dir, `${node2}.json`)]).stdout) as TraceReport
        // Only where each node was read from differs (live, or the file).
        const {nodes: liveNodes, ...liveAnswer} = live
        const {nodes: replayedNodes, ...replayedAnswer} = replayed
        expect(replayedAnswer, f.name).toEqual(liveAnswer)
        expect(replayedNodes.map((n) => [n.label, n.source])).toEqual(liveNodes.map((n) => [n.label, 'snapshot']))
        // The route lookups were the kernel's answers, replayed: not recomputed from the recorded tables.
        const routing = replayed.steps.filter((s) => s.kind === 'routing')
        expect(routing.length, f.name).toBeGreaterThan(0)
        expect(routing.every((s) => s.evidence === 'kernel' && s.details.some((d) => d.startsWith('asked the kernel: ip route get'))), f.name).toBe(true)
      }
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }, LIVE_LAB_TEST_TIMEOUT)

  it('the masquerade and DNAT rewrites predicted are the ones the packets carried', async () => {
    const masq = JSON.parse(cli(['trace', CURL, '172.31.0.2:80', '--sport', '42014', '--netns', node1, '--netns', node2, '--json']).stdout) as TraceReport
    const natStep = masq.steps.find((s) => s.kind === 'netfilter' && /MASQUERADE/.test(s.verdict))!
    expect(natStep.tuple.src).toBe('172.31.0.1')
    const p = await sendProbe(prefix, {fromPod: 'curl', dst: '172.31.0.2', dport: 80, sport: 42014, timeoutMs: 1500})
    expect(p.peerSeen?.address, 'the listener outside saw another source than predicted').toBe(natStep.tuple.src)

    const svc = JSON.parse(cli(['trace', CURL, '10.96.0.80:80', '--sport', '42013', '--netns', node1, '--netns', node2, '--json']).stdout) as TraceReport
    const dnat = svc.steps.find((s) => s.kind === 'netfilter' && /DNAT/.test(s.verdict))!
    expect(dnat.tuple).toMatchObject({dst: '10.42.0.51', dport: 80})
    await sendProbe(prefix, {fromPod: 'curl', dst: '10.96.0.80', dport: 80, sport: 42013, timeoutMs: 1500})
    const seen = await readFlowPath(prefix, {saddr: CURL, daddr: '10.96.0.80', sport: 42013, dport: 80, proto: 'tcp'}, {translated: [{daddr: '10.42.0.51'}]})
    expect(seen.find((s) => s.hook === 'to-overlay')?.tuple.daddr, 'after node 1 the packet should carry the DNAT destination').toBe(dnat.tuple.dst)
  })

  it('the drop flow carries the predicted mark into the dropping rule', async () => {
    const r = JSON.parse(cli(['trace', CURL, '10.42.0.52:6379', '--sport', '42015', '--netns', node1, '--netns', node2, '--json']).stdout) as TraceReport
    const marked = r.steps.find((s) => s.kind === 'netfilter' && s.mark !== 0)!
    expect(marked.mark).toBe(0x8000)
    const events = await withNftTrace(node1, {saddr: CURL, daddr: '10.42.0.52', proto: 'tcp', sport: 42015}, () => sendProbe(prefix, {fromPod: 'curl', dst: '10.42.0.52', dport: 6379, sport: 42015, timeoutMs: 800}))
    const drop = events.find((e) => e.kind === 'rule' && e.verdict === 'drop')!
    expect(`${drop.table}/${drop.chain}`).toBe(r.steps[r.outcome.step! - 1]!.rules!.at(-1)!.table + '/' + r.steps[r.outcome.step! - 1]!.rules!.at(-1)!.chain)
    expect(events.some((e) => e.mark === 0x8000)).toBe(true)
  })
})
