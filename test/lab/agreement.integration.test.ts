// Issue 9's acceptance: for every flow of every CNI variant, forward and reply, `nodeinspect trace --reply` (made
// before any packet is sent) against the kernel's own `nft monitor trace` of the real packets on every node, at
// full depth: every decision (a rule that accepted, dropped, translated, marked or untracked; a policy) in
// order, for the inner packet and the tunnel's outer packet; at every hook the mark, the conntrack state, the
// input and output device; the endpoint the listener saw; the outcome. A divergence fails the test.
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {TraceReport} from '../../src/analyses/path/trace.js'
import type {PathStep} from '../../src/model/path.js'
import {labDown} from '../../src/lab/teardown.js'
import {LAB_VARIANTS} from '../../src/lab/variants/registry.js'
import type {LabVariantState} from '../../src/lab/variants/state.js'
import type {VariantFlow} from '../../src/lab/variants/variant-plan.js'
import {labUpVariant, variantUnavailable} from '../../src/lab/variants/up.js'
import {cli} from '../helpers/cli.js'
import {comparePacket, firstPacket, type PacketAgreement, predictedPacket} from '../support/agreement.js'
import {type ObservedPacket, observedPackets, withKernelPath} from '../support/kernel-path.js'
import {readPeerLog, sendProbe, type ProbeResult} from '../support/lab-probe.js'
import {LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from './live.js'

const labSkip = liveLabSkipReason(['iptables-restore', 'iptables-save', 'nft', 'bridge'])
if (labSkip) console.warn(`test/lab/agreement.integration.test.ts: skipping: ${labSkip}`)
const prefix = `nilab-t${process.pid}a`

/** Every comparison made, for the summary printed at the end. */
const ledger: Array<{variant: string; flow: string; direction: 'forward' | 'reply'; packets: PacketAgreement[]; agreed: boolean}> = []

function predict(state: LabVariantState, f: VariantFlow, sport: number): TraceReport {
  const src = state.pods.find((p) => p.name === f.fromPod)!.ip
  const args = ['trace', src, `${f.dst}:${f.dport}`, '--proto', f.proto, '--sport', String(sport), ...state.nodes.flatMap((n) => ['--netns', n.netns]), '--reply', '--json']
  const r = cli(args)
  expect(r.stderr, args.join(' ')).toBe('')
  expect(r.status, args.join(' ')).toBe(0)
  return JSON.parse(r.stdout) as TraceReport
}

/** The address a delivered packet was sent to after every translation (the endpoint the prediction picked). */
const deliveredTo = (steps: readonly PathStep[]) => steps.at(-1)?.tuple

/** Which listener logged this probe's connection (the peer address and port it saw). */
function listenerOf(f: VariantFlow, p: ProbeResult): string | undefined {
  if (!p.peerSeen) return undefined
  return (f.expect.listeners ?? []).find((l) => readPeerLog(prefix, l).some((e) => e.proto === f.proto && e.peer.address === p.peerSeen!.address && e.peer.port === p.peerSeen!.port))
}

const podOrOutsideAt = (state: LabVariantState, ip: string) => state.pods.find((p) => p.ip === ip)?.name ?? (state.outside?.listenIp === ip ? state.outside.name : undefined)

interface Observation {
  report: TraceReport
  probe: ProbeResult
  packets: Map<string, ObservedPacket[]>
  listener?: string
}

/**
 * Predict, then send the real probe while every node is traced. Where the prediction picks one endpoint of several
 * (statistic, numgen: evidence says so), the kernel picks at random: probe again on a new source port, with a new
 * prediction each time, until the kernel took the predicted endpoint (14 tries: 1 in 16384 to miss with two).
 */
async function observe(state: LabVariantState, f: VariantFlow, sport0: number): Promise<Observation> {
  const overlayPorts = new Set(state.nodes.map((n) => n.overlay.port))
  for (let attempt = 0; ; attempt++) {
    const sport = sport0 + attempt
    const report = predict(state, f, sport)
    let probe: ProbeResult | undefined
    const traced = await withKernelPath(
      state.nodes.map((n) => n.netns),
      async () => {
        probe = await sendProbe(prefix, {fromPod: f.fromPod, dst: f.dst, dport: f.dport, proto: f.proto, sport, timeoutMs: f.expect.connected ? 3000 : 1500})
      },
      // NODEINSPECT_AGREEMENT_CAPTURE=DIR keeps each node's raw trace (testdata/lab/agreement/ holds reviewed ones).
      process.env.NODEINSPECT_AGREEMENT_CAPTURE ? (netns, text) => writeFileSync(join(process.env.NODEINSPECT_AGREEMENT_CAPTURE!, `${state.variant}-${f.kind}-${netns.slice(prefix.length + 1)}.txt`), text.replaceAll(prefix, 'nilab')) : undefined,
    )
    const packets = new Map([...traced].map(([netns, t]) => [netns, observedPackets(t.events, t.ownTable, overlayPorts)]))
    const listener = listenerOf(f, probe!)
    const obs: Observation = {report, probe: probe!, packets, ...(listener ? {listener} : {})}
    const picked = podOrOutsideAt(state, deliveredTo(report.steps)?.dst ?? '')
    const chosen = (report.steps.some((s) => (s.branches?.length ?? 0) > 1) && (f.expect.listeners?.length ?? 0) > 1)
    if (!chosen || !probe!.connected || listener === picked || attempt === 13) return obs
  }
}

const TCP_FLAG_BITS: Record<string, number> = {fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20, ecn: 0x40, cwr: 0x80}
/** nft prints a flag set by name (`syn`, `syn | ack`) or, for some, as a number (`0x12`). */
const tcpFlags = (s: string | undefined) => (s === undefined ? 0 : /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : s.split(' | ').reduce((a, n) => a | (TCP_FLAG_BITS[n] ?? 0), 0))
const isSyn = (p: ObservedPacket) => tcpFlags(p.first.tcpFlags) === 0x02
const isSynAck = (p: ObservedPacket) => tcpFlags(p.first.tcpFlags) === 0x12

/** The packet of one direction on one node: the first SYN (SYN-ACK for the reply) or datagram, inner or outer. */
function pickPacket(all: readonly ObservedPacket[], proto: string, direction: 'forward' | 'reply', outer?: {src: string; dst: string}): ObservedPacket | undefined {
  if (outer) return firstPacket(all, (p) => p.outer && p.first.saddr === outer.src && p.first.daddr === outer.dst)
  const inner = all.filter((p) => !p.outer)
  if (proto === 'tcp') return firstPacket(inner, direction === 'forward' ? isSyn : isSynAck)
  const fwd = inner[0]
  if (direction === 'forward') return fwd
  return fwd && firstPacket(inner, (p) => p.first.saddr !== fwd.first.saddr, fwd)
}

/** Compare one direction on every node: inner and outer packets. */
function compareDirection(state: LabVariantState, f: VariantFlow, obs: Observation, direction: 'forward' | 'reply'): PacketAgreement[] {
  const steps = direction === 'forward' ? obs.report.steps : (obs.report.reply?.steps ?? [])
  const out: PacketAgreement[] = []
  for (const n of state.nodes) {
    const all = obs.packets.get(n.netns) ?? []
    const where = `${f.kind} ${direction} ${n.name}`
    out.push(comparePacket(`${where} inner`, predictedPacket(steps, n.netns, false), pickPacket(all, f.proto, direction)))
    const encap = steps.find((s) => s.node === n.netns && s.kind === 'encap' && s.outer)
    const decap = steps.find((s) => s.node === n.netns && s.outer && s.kind === 'netfilter')
    const outer = (encap ?? decap)?.outer
    const observedOuter = outer ? pickPacket(all, f.proto, direction, {src: outer.src, dst: outer.dst}) : firstPacket(all, (p) => p.outer && direction === 'forward')
    if (outer || observedOuter) out.push(comparePacket(`${where} outer`, predictedPacket(steps, n.netns, true), observedOuter))
  }
  return out
}

for (const def of LAB_VARIANTS.filter((v) => v.name !== 'cilium')) {
  const unavailable = variantUnavailable(def.name)
  const skip = labSkip || unavailable || ''
  if (unavailable) console.warn(`test/lab/agreement.integration.test.ts: variant ${def.name} skipped: ${unavailable}`)

  describe.skipIf(skip !== '')(`trace agrees with the kernel on the ${def.name} variant (${skip || def.summary})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
    let state: LabVariantState
    beforeAll(async () => {
      await sweepStaleLabs('a')
      state = await labUpVariant({prefix, variant: def.name})
    })
    afterAll(async () => {
      await labDown(prefix)
    })

    const flows = def.plan(prefix).flows

    it('trace --snapshot on what trace --record wrote gives the live answer for every flow, reply and route answers included', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ni-agree-'))
      let routed = 0
      try {
        for (const f of flows) {
          const src = state.pods.find((p) => p.name === f.fromPod)!.ip
          const base = ['trace', src, `${f.dst}:${f.dport}`, '--proto', f.proto, '--sport', '46000', '--reply', '--json']
          const live = cli([...base, ...state.nodes.flatMap((n) => ['--netns', n.netns]), '--record', dir])
          expect(live.status, live.stderr).toBe(0)
          const replay = cli([...base, ...state.nodes.flatMap((n) => ['--snapshot', join(dir, `${n.netns}.json`)])])
          expect(replay.status, replay.stderr).toBe(0)
          const strip = (text: string) => {
            const j = JSON.parse(text) as TraceReport
            return {...j, nodes: j.nodes.map(({source: _s, snapshotFile: _f, ...n}) => n)}
          }
          expect(strip(replay.stdout), f.kind).toEqual(strip(live.stdout))
          // The route answers were the kernel's, replayed, not recomputed.
          const routing = (JSON.parse(replay.stdout) as TraceReport).steps.filter((st) => st.kind === 'routing')
          routed += routing.length
          expect(routing.every((st) => st.evidence === 'kernel'), f.kind).toBe(true)
          // Without the recorded answers, routes recomputed from the recorded ip rules and tables (oracle/fib.ts)
          // must take the same path: every step, the reply and the outcome alike; only their evidence differs.
          const bare = join(dir, 'no-route-answers')
          mkdirSync(bare, {recursive: true})
          for (const n of state.nodes) {
            const snap = JSON.parse(readFileSync(join(dir, `${n.netns}.json`), 'utf8')) as {outputs: Array<{argv?: string[]}>}
            snap.outputs = snap.outputs.filter((o) => !(o.argv?.includes('route') && o.argv.includes('get')))
            writeFileSync(join(bare, `${n.netns}.json`), JSON.stringify(snap))
          }
          const recomputed = cli([...base, ...state.nodes.flatMap((n) => ['--snapshot', join(bare, `${n.netns}.json`)])])
          expect(recomputed.status, recomputed.stderr).toBe(0)
          const path = (text: string) => {
            const j = JSON.parse(text) as TraceReport
            const steps = (ss: readonly PathStep[]) => ss.map((st) => ({n: st.n, node: st.node, kind: st.kind, where: st.where, verdictKind: st.verdictKind, tuple: st.tuple, mark: st.mark, ct: st.ct}))
            return {steps: steps(j.steps), outcome: j.outcome, reply: j.reply && {steps: steps(j.reply.steps), outcome: j.reply.outcome}}
          }
          const again = JSON.parse(recomputed.stdout) as TraceReport
          expect(again.steps.filter((st) => st.kind === 'routing').every((st) => st.evidence === 'rule'), f.kind).toBe(true)
          expect(path(recomputed.stdout), `${f.kind}: recomputed routes`).toEqual(path(live.stdout))
        }
        // A bridged flow has no route lookup; the variant's others have.
        expect(routed).toBeGreaterThan(0)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
    flows.forEach((f, i) => {
      it(`${f.kind}: ${f.description}`, async () => {
        const obs = await observe(state, f, 47000 + 100 * i)
        const {report, probe} = obs
        const what = `${f.kind}: probe ${JSON.stringify(probe)}`
        // The outcome: delivered where the kernel connected, dropped where it did not.
        expect(probe.connected, what).toBe(f.expect.connected)
        // A REJECT answers (the client is refused at once, and the prediction ends in that reject); a drop is silent.
        if (f.expect.refused) {
          expect(probe.error, what).toBe('ECONNREFUSED')
          expect(report.steps.at(-1)?.verdictKind, what).toBe('reject')
        } else if (!f.expect.connected) expect(probe.error, what).toMatch(/timed out/)
        // A listener outside the cluster is in a netns no node read: the packet leaves towards it, into that netns.
        const outside = state.outside && f.dst === state.outside.listenIp
        const arrives = f.expect.connected || f.expect.replyNeverComesBack
        expect(report.outcome.kind, what).toBe(!arrives ? 'dropped' : outside ? 'left-node' : 'delivered')
        if (outside) expect(report.steps.at(-1)?.what, what).toContain(`into netns ${state.outside!.netns}`)
        const forward = compareDirection(state, f, obs, 'forward')
        ledger.push({variant: def.name, flow: f.kind, direction: 'forward', packets: forward, agreed: forward.every((p) => p.mismatches.length === 0)})
        let reply: PacketAgreement[] = []
        if (f.expect.replyNeverComesBack) {
          expect(report.reply?.outcome.text, what).toMatch(/^the reply never comes back/)
          reply = compareDirection(state, f, obs, 'reply')
          ledger.push({variant: def.name, flow: f.kind, direction: 'reply', packets: reply, agreed: reply.every((p) => p.mismatches.length === 0)})
        }
        if (f.expect.connected) {
          // The endpoint: the listener the prediction delivers to saw the peer the prediction's packet carries.
          const last = deliveredTo(report.steps)!
          expect(obs.listener, what).toBe(podOrOutsideAt(state, last.dst))
          expect(probe.peerSeen?.address, what).toBe(last.src)
          // A source NAT with random ports: the prediction says the kernel picks the port (sportRandom).
          if (last.sportRandom) expect(probe.peerSeen?.port, what).not.toBe(undefined)
          else expect(probe.peerSeen?.port, what).toBe(last.sport)
          expect(report.reply?.outcome.text, what).toMatch(/^the reply comes back/)
          reply = compareDirection(state, f, obs, 'reply')
          ledger.push({variant: def.name, flow: f.kind, direction: 'reply', packets: reply, agreed: reply.every((p) => p.mismatches.length === 0)})
        }
        expect([...forward, ...reply].flatMap((p) => p.mismatches)).toEqual([])
      })
    })
  })
}

afterAll(() => {
  if (ledger.length === 0) return
  const lines = ledger.map((l) => `${l.agreed ? 'agree' : 'DIFFER'}  ${l.variant} ${l.flow} ${l.direction}: ${l.packets.map((p) => `${p.where.split(' ').slice(-2).join(' ')} ${p.decisions}d/${p.hooks}h`).join(', ')}`)
  console.log(`trace vs nft monitor trace: ${ledger.filter((l) => l.agreed).length} of ${ledger.length} flow × variant × direction agree\n${lines.join('\n')}`)
})
