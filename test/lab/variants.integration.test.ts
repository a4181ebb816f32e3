// Issue 9's CNI variants on the real kernel, one after another under one prefix (nilab-t<pid>v): lab up
// --variant, the read back against the plan, real probes from a pod to the listeners of the other node (and to
// the Services, over TCP and UDP, for nft-kube-proxy) with the peer address each listener saw, the kernel's own
// counters for the rules a variant is about, lab status, lab down, and a host exactly as before. A variant this
// kernel cannot carry skips with its reason.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {LabError, labRun, labTry} from '../../src/lab/exec.js'
import {formatLabStatus} from '../../src/lab/format.js'
import {labStatus} from '../../src/lab/status.js'
import {existingLabNamespaces, labDown} from '../../src/lab/teardown.js'
import {LAB_VARIANTS, labVariant} from '../../src/lab/variants/registry.js'
import type {LabVariantState} from '../../src/lab/variants/state.js'
import {labUpVariant, variantUnavailable} from '../../src/lab/variants/up.js'
import {verifyVariantLab} from '../../src/lab/variants/verify.js'
import {cli} from '../helpers/cli.js'
import {readPeerLog, sendProbe, type ProbeResult} from '../support/lab-probe.js'
import {hostStateSnapshot, LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from './live.js'

const labSkip = liveLabSkipReason(['iptables-restore', 'iptables-save', 'nft', 'bridge'])
if (labSkip) console.warn(`test/lab/variants.integration.test.ts: skipping: ${labSkip}`)
const prefix = `nilab-t${process.pid}v`

/** The packet counter iptables-save -c prints for the one rule containing `rule`. */
async function counter(netns: string, table: string, rule: string): Promise<number> {
  const save = (await labRun('iptables-save -c', ['iptables-save', '-c', '-t', table], {netns})).stdout
  const lines = save.split('\n').filter((l) => l.includes(rule))
  if (lines.length !== 1) throw new Error(`${netns} ${table}: ${lines.length} rules contain "${rule}"`)
  return Number(/^\[(\d+):\d+\]/.exec(lines[0]!)?.[1] ?? Number.NaN)
}

const inNs = (netns: string, argv: string[]) => labRun(argv.join(' '), argv, {netns})

/** Variant-specific evidence from the kernel, after the flows were probed. */
const PROOFS: Record<string, (s: LabVariantState) => Promise<void>> = {
  bridge: async (s) => {
    // br_netfilter off: the key reads 0 (or is absent on a kernel without it).
    for (const x of s.sysctls.filter((y) => y.key === 'net.bridge.bridge-nf-call-iptables')) expect([undefined, '0']).toContain(x.value)
  },
  routed: async (s) => {
    // The pod resolved its link-local gateway to the host end's fixed MAC: the host answered by proxy ARP.
    const curl = s.pods.find((p) => p.name === 'curl')!
    const neigh = JSON.parse((await labRun('ip neigh', ['ip', '-n', curl.netns, '-j', 'neigh', 'show', '169.254.1.1'])).stdout) as Array<{lladdr?: string}>
    expect(neigh.map((n) => n.lladdr)).toEqual(['ee:ee:ee:ee:ee:ee'])
  },
  'iptables-kube-proxy': async (s) => {
    const [n1] = s.nodes.map((n) => n.netns) as [string]
    // Every Service flow went through a KUBE-SEP DNAT on node 1, and the Service without endpoints was rejected.
    const save = (await labRun('iptables-save -c', ['iptables-save', '-c', '-t', 'nat'], {netns: n1})).stdout
    const dnats = save.split('\n').filter((l) => / -j DNAT --to-destination /.test(l)).map((l) => Number(/^\[(\d+):/.exec(l)?.[1]))
    expect(dnats.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3)
    expect(await counter(n1, 'filter', 'has no endpoints" -m tcp --dport 80 -j REJECT')).toBeGreaterThan(0)
  },
  'nft-kube-proxy': async (s) => {
    const listing = s.netfilter.nft.find((t) => t.name === 'kube-proxy')!.listing
    expect(listing).toContain('numgen random mod 2 vmap')
    expect(listing).toContain('ip daddr . meta l4proto . th dport vmap @service-ips')
  },
  'policy-routing': async (s) => {
    const n1 = s.nodes[0]!.netns
    // Only curl's source address reaches the outside address (table 100); the main table has no route to it.
    const viaRule = JSON.parse((await inNs(n1, ['ip', '-j', 'route', 'get', '203.0.113.10', 'from', '10.244.1.2', 'iif', 'cni0'])).stdout) as Array<{dev: string; gateway: string}>
    expect(viaRule.map((r) => `${r.dev} ${r.gateway}`)).toEqual(['eth1 172.31.40.1'])
    const main = await labTry(['ip', 'route', 'get', '203.0.113.10'], {netns: n1})
    expect(main.stderr.trim()).toBe('RTNETLINK answers: Network is unreachable')
    expect(await counter(n1, 'nat', '-j SNAT --to-source 172.31.40.10')).toBeGreaterThan(0)
  },
  notrack: async (s) => {
    const [n1, n2] = s.nodes.map((n) => n.netns) as [string, string]
    // Outer VXLAN packets were untracked on both nodes, and the inner packet was still DNATed on node 2.
    expect(await counter(n1, 'raw', '-A OUTPUT -p udp -m udp --dport 8472 -j NOTRACK')).toBeGreaterThan(0)
    expect(await counter(n2, 'raw', '-A PREROUTING -p udp -m udp --dport 8472 -j NOTRACK')).toBeGreaterThan(0)
    expect(await counter(n2, 'nat', '-j DNAT --to-destination 10.244.2.8:80')).toBeGreaterThan(0)
  },
  'br-netfilter': async (s) => {
    expect(s.sysctls.filter((y) => y.key === 'net.bridge.bridge-nf-call-iptables').map((y) => y.value)).toEqual(['1', '1'])
    // The bridged SYN met filter FORWARD's DROP (only br_netfilter hands a bridged frame to iptables).
    expect(await counter(s.nodes[0]!.netns, 'filter', '--dport 6379 -m comment --comment "lab: bridged deny" -j DROP')).toBeGreaterThan(0)
  },
}

describe('lab up --variant refuses what it cannot build', () => {
  it('names the unknown variant and the known ones', async () => {
    await expect(labUpVariant({prefix, variant: 'nope'})).rejects.toThrow('lab up --variant nope: unknown variant "nope" (variants: cilium, bridge, routed, iptables-kube-proxy, nft-kube-proxy, policy-routing, notrack, br-netfilter)')
  })
})

describe.skipIf(labSkip !== '')('a variant whose step fails', {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  it('names the step in one line and leaves nothing behind (the listeners of the pods included)', async () => {
    await sweepStaleLabs('v')
    const before = await hostStateSnapshot(prefix)
    const plan = labVariant('bridge')!.plan(prefix)
    // A last command that fails after everything else of the phase ran: links, pods, rules are all there.
    const node2 = plan.nodes[1]!.netns
    plan.phases.at(-1)!.commands.push({step: 'broken route (node2)', argv: ['ip', '-n', node2, '-batch', '-'], input: 'route add 10.99.0.0/24 dev nosuchdev\n'})
    const err = await labUpVariant({prefix, variant: 'bridge', plan}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LabError)
    expect((err as LabError).step).toBe('broken route (node2)')
    expect((err as LabError).message).toMatch(/^broken route \(node2\): ip -n \S+ -batch -: exit 1: Cannot find device "nosuchdev" \(batch line 1: "route add 10\.99\.0\.0\/24 dev nosuchdev"\)$/)
    expect(existingLabNamespaces(prefix)).toEqual([])
    expect(labStatus(prefix)).toEqual({up: false, prefix})
    expect(await hostStateSnapshot(prefix)).toEqual(before)
  })
})

for (const def of LAB_VARIANTS) {
  const unavailable = variantUnavailable(def.name)
  const skip = labSkip || unavailable || ''
  if (unavailable) console.warn(`test/lab/variants.integration.test.ts: variant ${def.name} skipped: ${unavailable}`)

  describe.skipIf(skip !== '')(`variant ${def.name} on the kernel (${skip || def.summary})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
    let before: Record<string, string>
    let state: LabVariantState
    const probes = new Map<string, ProbeResult>()

    beforeAll(async () => {
      await sweepStaleLabs('v')
      before = await hostStateSnapshot(prefix)
    })
    afterAll(async () => {
      await labDown(prefix)
    })

    it('lab up --variant builds it and the read back matches the plan', async () => {
      const t0 = performance.now()
      state = await labUpVariant({prefix, variant: def.name})
      console.log(`lab up --variant ${def.name}: ${Math.round(performance.now() - t0)} ms`)
      expect(state.variant).toBe(def.name)
      expect(existingLabNamespaces(prefix)).toEqual([...state.namespaces].sort())
      // Read back again, independently of lab up: the same plan, the same kernel answers.
      const again = await verifyVariantLab(labVariant(def.name)!.plan(prefix))
      expect(again.netfilter.rules.map((r) => r.saved)).toEqual(state.netfilter.rules.map((r) => r.saved))
      expect(state.processes.map((p) => p.pod).sort()).toEqual([...state.pods.filter((p) => p.listener).map((p) => p.name), ...(state.outside ? ['ext'] : [])].sort())
    })

    it('lab status knows the variant', () => {
      const st = labStatus(prefix)
      expect(st.up).toBe(true)
      if (!st.up) return
      expect(st.state.variant).toBe(def.name)
      expect(st.processes.every((p) => p.alive)).toBe(true)
      expect(formatLabStatus(st)[1]).toBe(`lab ${prefix} (variant ${def.name}): ${def.summary}`)
      // As a user runs it (built CLI).
      const r = cli(['lab', 'status', '--prefix', prefix, '--json'])
      expect(r.status).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({up: true, prefix, state: {variant: def.name, namespaces: state.namespaces}})
    })

    it('every flow behaves as planned: real probes from a pod, the peer each listener saw', async () => {
      for (const f of state.flows) {
        const r = await sendProbe(prefix, {fromPod: f.fromPod, dst: f.dst, dport: f.dport, proto: f.proto, timeoutMs: f.expect.connected ? 5000 : 1500})
        probes.set(f.kind, r)
        const what = `${f.kind}: ${JSON.stringify(r)}`
        expect(r.connected, what).toBe(f.expect.connected)
        if (!f.expect.connected) {
          expect(r.error, what).toMatch(f.expect.refused ? /^ECONNREFUSED$/ : /timed out/)
          continue
        }
        expect(r.peerSeen?.address, what).toBe(f.expect.peer)
        // The listener logged exactly this peer (address and port): the probe reached it, not another.
        const seenBy = (f.expect.listeners ?? []).filter((l) => readPeerLog(prefix, l).some((e) => e.proto === f.proto && e.peer.address === r.peerSeen!.address && e.peer.port === r.peerSeen!.port))
        expect(seenBy, what).toHaveLength(1)
      }
    })

    it("the kernel's counters and answers show what the variant is about", async () => {
      await PROOFS[def.name]!(state)
    })

    it('lab down removes everything; the host is exactly as before', async () => {
      const report = await labDown(prefix)
      expect(report.namespaces).toEqual([...state.namespaces].sort())
      expect(report.stateDirRemoved).toBe(true)
      expect(existingLabNamespaces(prefix)).toEqual([])
      expect(labStatus(prefix)).toEqual({up: false, prefix})
      expect(await hostStateSnapshot(prefix)).toEqual(before)
    })
  })
}
