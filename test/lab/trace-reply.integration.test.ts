// `nodeinspect trace --reply` against real packets in the lab: for each delivered flow, predict the reply (conntrack
// ESTABLISHED, the forward NAT undone), send a real TCP connection from the curl pod (it completes only when the
// SYN-ACK comes back), and read the reply's own netfilter path on node 1 with `nft monitor trace`: the base chains
// it entered, in order, and the verdict, compared with the prediction.
import {existsSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {TraceReport} from '../../src/analyses/path/trace.js'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import {labDown} from '../../src/lab/teardown.js'
import {labUp} from '../../src/lab/up.js'
import {BRIDGE_PODS} from '../../src/lab/variants/bridge-cni.js'
import {labUpVariant, variantUnavailable} from '../../src/lab/variants/up.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {sendProbe, type ProbeResult} from '../support/lab-probe.js'
import {traceGroups, traceVerdict, withNftTrace, type TraceEvent} from '../support/nft-trace.js'
import {cli} from '../helpers/cli.js'
import {LIVE_LAB_TEST_TIMEOUT} from './live.js'

const pre = checkLabPrerequisites()
const skipReason = [pre.reason, existsSync(bpfHelperPath()) ? '' : `no helper binary at ${bpfHelperPath()}`].filter(Boolean).join('; ')
if (skipReason) console.warn(`test/lab/trace-reply.integration.test.ts: skipping: ${skipReason}`)

const prefix = `nilab-t${process.pid}r`
const node1 = `${prefix}-node1`
const node2 = `${prefix}-node2`
const CURL = '10.42.1.80'

/** The reply's base chains on node 1 that ran (nat chains of an established connection do not), in order. */
function predictedReplyChains(r: TraceReport): string[] {
  return (r.reply?.steps ?? [])
    .filter((s) => s.kind === 'netfilter' && s.node === node1 && !s.outer)
    .flatMap((s) => (s.tables ?? []).filter((t) => !/^(skipped|not reached)/.test(t.verdict)).map((t) => `${t.table} ${t.chain}`))
}

/** The base chains the kernel's trace shows the first reply packet (the SYN-ACK) entering on node 1. */
function observedChains(events: readonly TraceEvent[]): string[] {
  const first = traceGroups(events)[0]?.events ?? []
  return first.filter((e) => e.kind === 'packet' && !e.table.startsWith('nilab_trace')).map((e) => `${e.table} ${e.chain}`)
}

interface Flow {
  name: string
  dst: string
  dport: number
  sport: number
  /** Where the reply comes from, as it arrives on node 1 (after a DNAT there: the backend). */
  replyFrom: string
}

const FLOWS: Flow[] = [
  {name: 'pod to pod across nodes', dst: '10.42.0.51', dport: 80, sport: 42101, replyFrom: '10.42.0.51'},
  {name: 'pod to pod on one node', dst: '10.42.1.81', dport: 80, sport: 42102, replyFrom: '10.42.1.81'},
  {name: 'pod to a Service VIP (DNAT undone on the reply)', dst: '10.96.0.80', dport: 80, sport: 42103, replyFrom: '10.42.0.51'},
  {name: 'pod to an outside address, masqueraded (SNAT undone on the reply)', dst: '172.31.0.2', dport: 80, sport: 42104, replyFrom: '172.31.0.2'},
]

describe.skipIf(!!skipReason)(`trace --reply against real packets in the lab (${skipReason || 'root, BPF, netns'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  beforeAll(async () => {
    await labUp({prefix})
  })
  afterAll(async () => {
    await labDown(prefix)
  })

  for (const f of FLOWS) {
    it(f.name, async () => {
      const t = cli(['trace', CURL, `${f.dst}:${f.dport}`, '--sport', String(f.sport), '--netns', node1, '--netns', node2, '--reply', '--json'])
      expect(t.stderr).toBe('')
      expect(t.status).toBe(0)
      const r = JSON.parse(t.stdout) as TraceReport
      expect(r.reply, f.name).toBeDefined()
      let probe: ProbeResult | undefined
      const events = await withNftTrace(node1, {saddr: f.replyFrom, proto: 'tcp', sport: f.dport, dport: f.sport}, async () => {
        probe = await sendProbe(prefix, {fromPod: 'curl', dst: f.dst, dport: f.dport, sport: f.sport, timeoutMs: 1500})
      })
      const back = r.reply!
      // The reply comes back ⇔ the TCP handshake completed.
      expect(back.outcome.text.startsWith('the reply comes back'), `${f.name}: predicted "${back.outcome.text}", the probe ${probe?.connected ? 'connected' : `did not connect (${probe?.error})`}`).toBe(probe?.connected === true)
      // It ends at the curl pod with the addresses curl used: every NAT undone.
      expect(back.steps.at(-1)!.tuple, f.name).toMatchObject({src: f.dst, sport: f.dport, dst: CURL, dport: f.sport})
      // Node 1's netfilter on the reply: the base chains the SYN-ACK entered, in order, and an accepting verdict.
      expect(predictedReplyChains(r), `${f.name}: reply base chains on node 1`).toEqual(observedChains(events))
      // Every reply here crosses node 1's stack (mangle PREROUTING … POSTROUTING): there are chains to compare.
      expect(observedChains(events).length, `${f.name}: the SYN-ACK was not traced on node 1`).toBeGreaterThan(0)
      expect(traceVerdict(events)).toBe('accept')
      expect(back.steps.filter((s) => s.kind === 'netfilter' && s.node === node1 && !s.outer).every((s) => s.ct?.state === 'ESTABLISHED')).toBe(true)
    })
  }
})

// The policy-routing variant (AWS-VPC-CNI style): curl's traffic leaves node 1 by eth1 (ip rule from curl lookup
// 100) with SNAT to eth1's address; the answer comes back on eth1 and is un-SNATed at PREROUTING. Compared here: the
// handshake completes (the SYN-ACK came back), the reply's arrival device, the NAT undone, and nat chains not run.
// Not yet compared: the delivery through cni0 into curl's netns is the bridge walk's (issue 9, item 3), so the
// reply's outcome still ends at cni0; and `nft monitor trace` on node 1 showed no event for the SYN-ACK here (not
// understood yet), so its chains are not compared on this variant.
const prPrefix = `${prefix}p`
const prNode1 = `${prPrefix}-node1`
const prUnavailable = skipReason || variantUnavailable('policy-routing')

describe.skipIf(!!prUnavailable)(`trace --reply on the policy-routing variant (${prUnavailable || 'root, netns'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  beforeAll(async () => {
    await labUpVariant({prefix: prPrefix, variant: 'policy-routing'})
  })
  afterAll(async () => {
    await labDown(prPrefix)
  })

  it('the answer from outside arrives on eth1 and is un-SNATed to curl at PREROUTING, without nat chains; the handshake completes', async () => {
    const curl = BRIDGE_PODS.curl.ip
    const t = cli(['trace', curl, '203.0.113.10:80', '--sport', '42201', '--netns', prNode1, '--netns', `${prPrefix}-node2`, '--reply', '--json'])
    expect(t.stderr).toBe('')
    const r = JSON.parse(t.stdout) as TraceReport
    const probe = await sendProbe(prPrefix, {fromPod: 'curl', dst: '203.0.113.10', dport: 80, sport: 42201, timeoutMs: 1500})
    expect(probe.connected, `the SYN-ACK did not come back: ${probe.error}`).toBe(true)
    const back = r.reply!.steps.filter((s) => s.node === prNode1)
    expect(back[0]).toMatchObject({kind: 'wire', where: {device: 'eth1'}, tuple: {src: '203.0.113.10', dst: '172.31.40.10', dport: 42201}})
    const preSteps = back.find((s) => s.where.hook === 'netfilter prerouting')!
    expect(preSteps.tuple).toMatchObject({dst: curl, dport: 42201})
    expect(preSteps.verdict).toContain('un-SNAT destination 172.31.40.10:42201')
    const natRows = back.filter((s) => s.kind === 'netfilter').flatMap((s) => (s.tables ?? []).filter((x) => x.table === 'nat'))
    expect(natRows.length).toBeGreaterThan(0)
    expect(natRows.every((x) => x.verdict.startsWith('skipped: established connection'))).toBe(true)
  })
})
