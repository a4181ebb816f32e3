// `nodeinspect trace` through Linux bridges (kn-15, kn-16) against real packets, on the lab's bridge and
// br-netfilter variants: the prediction (made before any packet is sent) is delivery into the destination pod's
// netns where the real connection is accepted and its listener sees the client's address and port, and, with
// br_netfilter on, the drop at the filter FORWARD rule where the kernel's own `nft monitor trace` shows it.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {TraceReport} from '../../src/analyses/path/trace.js'
import {labDown} from '../../src/lab/teardown.js'
import {BRIDGE_PODS} from '../../src/lab/variants/bridge-cni.js'
import {labUpVariant, variantUnavailable} from '../../src/lab/variants/up.js'
import {cli} from '../helpers/cli.js'
import {readPeerLog, sendProbe} from '../support/lab-probe.js'
import {traceGroups, traceVerdict, withNftTrace, type TraceEvent} from '../support/nft-trace.js'
import {LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from './live.js'

const labSkip = liveLabSkipReason(['iptables-restore', 'iptables-save', 'nft', 'bridge'])
if (labSkip) console.warn(`test/lab/trace-bridge.integration.test.ts: skipping: ${labSkip}`)
const prefix = `nilab-t${process.pid}b`
const node1 = `${prefix}-node1`
const node2 = `${prefix}-node2`
const {curl, nginx, httpbin} = BRIDGE_PODS

function trace(dst: string, dport: number, sport: number): TraceReport {
  const t = cli(['trace', curl.ip, `${dst}:${dport}`, '--sport', String(sport), '--netns', node1, '--netns', node2, '--json'])
  expect(t.stderr).toBe('')
  expect(t.status).toBe(0)
  return JSON.parse(t.stdout) as TraceReport
}

/** The prediction delivers into `pod`'s netns on `node` through a bridge step on that node's cni0. */
function expectDeliveredInto(r: TraceReport, node: string, pod: {name: string; ip: string; hostDev: string}): void {
  expect(r.outcome, JSON.stringify(r.steps.at(-1))).toMatchObject({kind: 'delivered'})
  const last = r.steps.at(-1)!
  expect(last).toMatchObject({kind: 'deliver', node, where: {device: pod.hostDev, inPod: `${prefix}-${node === node1 ? 'n1' : 'n2'}-${pod.name}`}})
  const bridge = r.steps.filter((s) => s.kind === 'bridge' && s.node === node).at(-1)!
  expect(bridge).toMatchObject({where: {device: 'cni0'}, verdictKind: 'forward', verdict: expect.stringMatching(new RegExp(`^(forward|flood) to ${pod.hostDev}$`))})
}

/** Every base chain the prediction says the packet entered on node 1, in order (skipped tables left out). */
function predictedBaseChains(r: TraceReport): string[] {
  return r.steps
    .filter((s) => s.kind === 'netfilter' && s.node === node1)
    .flatMap((s) => (s.tables ?? []).filter((t) => !/^(skipped|not reached)/.test(t.verdict)).map((t) => `${t.table} ${t.chain}`))
}

/** The base chains the kernel's trace shows the first packet entering (the trace's own table left out). */
function observedBaseChains(events: readonly TraceEvent[]): string[] {
  const first = traceGroups(events)[0]?.events ?? []
  return first.filter((e) => e.kind === 'packet' && !e.table.startsWith('nilab_trace')).map((e) => `${e.table} ${e.chain}`)
}

/** The real connection reached the listener, which saw the client's own address and source port. */
async function expectConnected(dst: string, dport: number, sport: number, listener: string): Promise<void> {
  const p = await sendProbe(prefix, {fromPod: curl.name, dst, dport, sport, timeoutMs: 1500})
  expect(p.connected, p.error).toBe(true)
  expect(readPeerLog(prefix, listener).some((e) => e.peer.address === curl.ip && e.peer.port === sport)).toBe(true)
}

for (const variant of ['bridge', 'br-netfilter'] as const) {
  const unavailable = variantUnavailable(variant)
  const skip = labSkip || unavailable || ''
  if (unavailable) console.warn(`test/lab/trace-bridge.integration.test.ts: variant ${variant} skipped: ${unavailable}`)

  describe.skipIf(skip !== '')(`trace through cni0 on the ${variant} variant (${skip || 'root, netns'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
    beforeAll(async () => {
      await sweepStaleLabs('b')
      await labUpVariant({prefix, variant})
    })
    afterAll(async () => {
      await labDown(prefix)
    })

    it('pod to pod across nodes: routed onto node 2\'s cni0, bridged to httpbin\'s veth, delivered in its netns', async () => {
      const r = trace(httpbin.ip, 80, 43001)
      expectDeliveredInto(r, node2, httpbin)
      // Node 1: the pod's frame is for its gateway, cni0's own address: passed up, then routed to flannel.1.
      expect(r.steps.find((s) => s.kind === 'bridge' && s.node === node1)).toMatchObject({verdictKind: 'pass-up'})
      await expectConnected(httpbin.ip, 80, 43001, httpbin.name)
      // Now the neighbour and FDB entries exist: the bridge's choice is the kernel's FDB entry, no longer a flood.
      const again = trace(httpbin.ip, 80, 43011)
      expectDeliveredInto(again, node2, httpbin)
      expect(again.steps.filter((s) => s.kind === 'bridge' && s.node === node2).at(-1)).toMatchObject({verdict: `forward to ${httpbin.hostDev}`, evidence: 'kernel'})
    })

    it('trace --snapshot on the snapshots a live trace recorded gives the live answer; the br_netfilter sysctl is recorded', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ni-bridge-record-'))
      try {
        const dst = variant === 'br-netfilter' ? nginx.ip : httpbin.ip
        const args = ['trace', curl.ip, `${dst}:80`, '--sport', '43005', '--json']
        const live = JSON.parse(cli([...args, '--netns', node1, '--netns', node2, '--record', dir]).stdout) as TraceReport
        const replayed = JSON.parse(cli([...args, '--snapshot', join(dir, `${node1}.json`), '--snapshot', join(dir, `${node2}.json`)]).stdout) as TraceReport
        const {nodes: _l, ...liveAnswer} = live
        const {nodes: _r, ...replayedAnswer} = replayed
        expect(replayedAnswer).toEqual(liveAnswer)
        expect(readFileSync(join(dir, `${node1}.json`), 'utf8')).toContain('net.bridge.bridge-nf-call-iptables')
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })

    if (variant === 'br-netfilter') {
      it('same node: the frame is bridged between two ports of cni0 and crosses iptables PREROUTING, FORWARD, POSTROUTING on cni0', async () => {
        const r = trace(nginx.ip, 80, 43002)
        expectDeliveredInto(r, node1, nginx)
        const hooks = r.steps.filter((s) => s.kind === 'netfilter' || s.kind === 'bridge').map((s) => `${s.kind} ${s.where.hook} ${s.where.device}`)
        expect(hooks).toEqual(['netfilter netfilter prerouting cni0', 'bridge bridge cni0', 'netfilter netfilter forward cni0', 'netfilter netfilter postrouting cni0'])
        let connected = false
        const events = await withNftTrace(node1, {saddr: curl.ip, daddr: nginx.ip, proto: 'tcp', sport: 43002}, async () => {
          await expectConnected(nginx.ip, 80, 43002, nginx.name)
          connected = true
        })
        expect(connected).toBe(true)
        // The kernel's trace: the bridged frame's first packet entered the filter FORWARD chain (only br_netfilter takes it
        // there), and every base chain predicted, in order.
        expect(events.some((e) => e.kind === 'packet' && e.table === 'filter' && e.chain === 'FORWARD')).toBe(true)
        expect(predictedBaseChains(r)).toEqual(observedBaseChains(events))
      })

      it('same node to port 6379: dropped by the filter FORWARD rule, as the kernel\'s trace shows', async () => {
        const r = trace(nginx.ip, 6379, 43003)
        expect(r.outcome.kind).toBe('dropped')
        const last = r.steps[r.outcome.step! - 1]!
        expect(last).toMatchObject({kind: 'netfilter', where: {hook: 'netfilter forward', device: 'cni0'}, verdictKind: 'drop'})
        const rule = last.rules!.at(-1)!
        expect(rule.raw).toContain('--dport 6379')
        let probe: {connected: boolean} | undefined
        const events = await withNftTrace(node1, {saddr: curl.ip, daddr: nginx.ip, proto: 'tcp', sport: 43003}, async () => {
          probe = await sendProbe(prefix, {fromPod: curl.name, dst: nginx.ip, dport: 6379, sport: 43003, timeoutMs: 800})
        })
        expect(probe?.connected).toBe(false)
        expect(traceVerdict(events)).toBe('drop')
        const drop = events.find((e) => e.kind === 'rule' && e.verdict === 'drop')!
        expect(`${drop.table}/${drop.chain}`).toBe(`${rule.table}/${rule.chain}`)
        expect(predictedBaseChains(r)).toEqual(observedBaseChains(events))
      })
    } else {
      it('br_netfilter off: the walk says bridged frames skip iptables, and predicts no FORWARD hook for them', async () => {
        const r = trace(httpbin.ip, 80, 43004)
        const onNode2 = r.steps.filter((s) => s.node === node2)
        const i = onNode2.findIndex((s) => s.kind === 'bridge')
        expect(onNode2.slice(i + 1).map((s) => s.kind)).toEqual(['deliver'])
      })
    }
  })
}
