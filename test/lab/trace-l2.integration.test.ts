// `nodeinspect trace` at L2 against the kernel, in throwaway namespaces `ni-t<pid>-l2…` (created and removed here,
// never the root netns): bridge VLAN filtering (docs/kernel-notes.md#kn-23-bridge-vlan-filtering), hairpin
// (docs/kernel-notes.md#kn-24-bridge-hairpin), br_netfilter's DNAT of a bridged frame (docs/kernel-notes.md#kn-25-bridged-dnat)
// and macvlan bridge mode (docs/kernel-notes.md#kn-26-macvlan-bridge-mode). Each case builds its topology with ip/bridge/iptables, asks the built CLI
// for its prediction, then sends a real TCP connection and compares. Nothing depends on this machine's ifindexes,
// nsids or timings beyond a connect timeout.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {TraceReport} from '../../src/analyses/path/trace.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {cli} from '../helpers/cli.js'
import {liveSkipReason} from '../probes/netns-helpers.js'

const skip = liveSkipReason(['bridge', 'iptables', 'sysctl']) ?? (existsSync(bpfHelperPath()) ? undefined : `no helper binary at ${bpfHelperPath()} (run: make -C native)`)
if (skip) console.warn(`test/lab/trace-l2.integration.test.ts: skipping: ${skip}`)

const P = `ni-t${process.pid}-l2`
const made: string[] = []
const listeners: ChildProcess[] = []

function run(argv: string[]): {status: number | null; stdout: string; stderr: string} {
  const r = spawnSync(argv[0]!, argv.slice(1), {encoding: 'utf8', timeout: 30_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

function must(...argv: string[]): string {
  const r = run(argv)
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`)
  return r.stdout
}

function netns(name: string): string {
  must('ip', 'netns', 'add', name)
  made.push(name)
  must('ip', '-n', name, 'link', 'set', 'lo', 'up')
  return name
}

/** Remove one namespace made here (a probe of what the kernel supports). */
function forget(ns: string): void {
  run(['ip', 'netns', 'del', ns])
  const i = made.indexOf(ns)
  if (i >= 0) made.splice(i, 1)
}

function removeAll(): void {
  for (const l of listeners.splice(0)) l.kill('SIGKILL')
  for (const n of made.splice(0).reverse()) run(['ip', 'netns', 'del', n])
}

/** A TCP listener on `port` inside `ns` (node, in the netns by `ip netns exec`): it accepts and closes. */
async function listen(ns: string, port: number): Promise<void> {
  const src = `require('node:net').createServer((s) => s.end()).listen(${port}, '0.0.0.0', () => console.log('up'))`
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', src], {stdio: ['ignore', 'pipe', 'pipe']})
  listeners.push(child)
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('exit', (c) => reject(new Error(`listener in ${ns}:${port} exited ${c}`)))
  })
}

/** One real TCP connection from `ns` to dst:port: true when the handshake completed within 2 s. */
function connects(ns: string, dst: string, port: number): boolean {
  const src = `const s = require('node:net').connect({host: '${dst}', port: ${port}, timeout: 2000}); s.on('connect', () => { console.log('connected'); s.destroy() }); s.on('timeout', () => { console.log('timeout'); s.destroy() }); s.on('error', (e) => console.log(e.code))`
  const out = must('ip', 'netns', 'exec', ns, process.execPath, '-e', src).trim()
  return out === 'connected'
}

function trace(src: string, dst: string, nodes: string[]): TraceReport {
  const t = cli(['trace', src, dst, ...nodes.flatMap((n) => ['--netns', n]), '--json'])
  expect(t.stderr).toBe('')
  expect(t.status).toBe(0)
  return JSON.parse(t.stdout) as TraceReport
}

const summary = (r: TraceReport) => r.steps.map((s) => `${s.kind} ${s.verdictKind}`)

/** node `N` with bridge br0 (10.8.0.1/24) and pods a, b, c (10.8.0.2-4) behind veths; a routed veth `ext` to netns X (10.9.0.2). */
function bridgeTopology(tag: string): {node: string; pod: (x: string) => string} {
  const node = netns(`${P}${tag}-node`)
  const pod = (x: string) => `${P}${tag}-${x}`
  must('ip', '-n', node, 'link', 'add', 'br0', 'type', 'bridge')
  must('ip', '-n', node, 'addr', 'add', '10.8.0.1/24', 'dev', 'br0')
  must('ip', '-n', node, 'link', 'set', 'br0', 'up')
  ;['a', 'b', 'c'].forEach((x, i) => {
    netns(pod(x))
    must('ip', '-n', node, 'link', 'add', `veth${x}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod(x))
    must('ip', '-n', node, 'link', 'set', `veth${x}`, 'master', 'br0')
    must('ip', '-n', node, 'link', 'set', `veth${x}`, 'up')
    must('ip', '-n', pod(x), 'addr', 'add', `10.8.0.${i + 2}/24`, 'dev', 'eth0')
    must('ip', '-n', pod(x), 'link', 'set', 'eth0', 'up')
    must('ip', '-n', pod(x), 'route', 'add', 'default', 'via', '10.8.0.1')
  })
  netns(pod('X'))
  must('ip', '-n', node, 'link', 'add', 'ext', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod('X'))
  must('ip', '-n', node, 'addr', 'add', '10.9.0.1/24', 'dev', 'ext')
  must('ip', '-n', node, 'link', 'set', 'ext', 'up')
  must('ip', '-n', pod('X'), 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0')
  must('ip', '-n', pod('X'), 'link', 'set', 'eth0', 'up')
  must('ip', '-n', pod('X'), 'route', 'add', 'default', 'via', '10.9.0.1')
  return {node, pod}
}

/** Why VLAN filtering cannot be tried here (kn-23: a kernel without CONFIG_BRIDGE_VLAN_FILTERING), or undefined. */
function vlanFilteringUnsupported(): string | undefined {
  const ns = `${P}vprobe`
  try {
    netns(ns)
    must('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    const r = run(['ip', '-n', ns, 'link', 'set', 'br0', 'type', 'bridge', 'vlan_filtering', '1'])
    return r.status === 0 ? undefined : `this kernel refuses bridge vlan_filtering (${r.stderr.trim()}): built without CONFIG_BRIDGE_VLAN_FILTERING`
  } finally {
    forget(ns)
  }
}

const brNetfilterMissing = (): string | undefined => {
  const ns = `${P}bprobe`
  try {
    netns(ns)
    return run(['ip', 'netns', 'exec', ns, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']).status === 0 ? undefined : 'br_netfilter is not available (no net.bridge.bridge-nf-call-iptables)'
  } finally {
    forget(ns)
  }
}

describe.skipIf(!!skip)(`trace at L2 against the kernel (${skip ?? 'root, netns'})`, {timeout: 600_000}, () => {
  afterAll(() => removeAll())

  describe('macvlan (kn-26): a lower veth low0 in netns L, mva in netns A, mvb in netns B', () => {
    const L = `${P}m-L`
    const A = `${P}m-A`
    const B = `${P}m-B`
    beforeAll(async () => {
      try {
        for (const n of [L, A, B]) netns(n)
        must('ip', '-n', L, 'link', 'add', 'low0', 'type', 'veth', 'peer', 'name', 'lowp')
        must('ip', '-n', L, 'addr', 'add', '10.7.0.254/24', 'dev', 'low0')
        for (const d of ['low0', 'lowp']) must('ip', '-n', L, 'link', 'set', d, 'up')
        for (const [name, ns, ip] of [['mva', A, '10.7.0.1'], ['mvb', B, '10.7.0.2']] as const) {
          must('ip', '-n', L, 'link', 'add', name, 'link', 'low0', 'type', 'macvlan', 'mode', 'bridge')
          must('ip', '-n', L, 'link', 'set', name, 'netns', ns)
          must('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', name)
          must('ip', '-n', ns, 'link', 'set', name, 'up')
        }
        await listen(B, 8080)
      } catch (e) {
        removeAll()
        throw e
      }
    })

    it('bridge mode to a bridge-mode sibling: predicted straight to mvb in netns B, and the connection is accepted', () => {
      const r = trace('10.7.0.1', '10.7.0.2:8080', [A, B, L])
      expect(summary(r)).toEqual(['routing route', 'macvlan forward', 'routing local'])
      expect(r.steps[1]).toMatchObject({node: A, where: {device: 'mva'}, verdict: `to mvb in netns ${B}`})
      expect(r.outcome).toMatchObject({kind: 'local', text: `delivered to a local socket on ${B} (10.7.0.2:8080)`})
      expect(connects(A, '10.7.0.2', 8080)).toBe(true)
    })

    it('private mode: predicted out by low0 and never to mvb; the connection times out', () => {
      must('ip', '-n', A, 'link', 'set', 'mva', 'type', 'macvlan', 'mode', 'private')
      try {
        const r = trace('10.7.0.1', '10.7.0.2:8080', [A, B, L])
        expect(summary(r)).toEqual(['routing route', 'macvlan pass', 'wire leave'])
        expect(r.outcome.kind).toBe('left-node')
        expect(r.outcome.text).toContain(`it never reaches mvb in netns ${B}, a macvlan of low0`)
        expect(connects(A, '10.7.0.2', 8080)).toBe(false)
      } finally {
        must('ip', '-n', A, 'link', 'set', 'mva', 'type', 'macvlan', 'mode', 'bridge')
      }
    })

    it('the lower device\'s netns (the host) to a child: predicted not delivered; the connection times out', () => {
      const r = trace('10.7.0.254', '10.7.0.2:8080', [L, B])
      expect(r.outcome.kind).toBe('left-node')
      expect(r.outcome.text).toContain('what a lower device transmits goes to its wire, not to its macvlans')
      expect(connects(L, '10.7.0.2', 8080)).toBe(false)
    })
  })

  describe('br_netfilter on br0: bridged DNAT (kn-25) and hairpin (kn-24)', () => {
    let node = ''
    let pod: (x: string) => string = (x) => x
    let unavailable: string | undefined
    beforeAll(async () => {
      unavailable = brNetfilterMissing()
      if (unavailable) return
      try {
        ;({node, pod} = bridgeTopology('d'))
        must('ip', 'netns', 'exec', node, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1', 'net.ipv4.ip_forward=1')
        // pod b's address, port 80: DNAT to pod c (still on br0); port 81: to X behind ext (routed); port 82: back to pod a
        // itself, with the hairpin SNAT kube-proxy adds (kn-24).
        const rules = ['*nat', '-A PREROUTING -d 10.8.0.3/32 -p tcp --dport 80 -j DNAT --to-destination 10.8.0.4:8080', '-A PREROUTING -d 10.8.0.3/32 -p tcp --dport 81 -j DNAT --to-destination 10.9.0.2:8080', '-A PREROUTING -d 10.8.0.3/32 -p tcp --dport 82 -j DNAT --to-destination 10.8.0.2:8080', '-A POSTROUTING -s 10.8.0.2/32 -d 10.8.0.2/32 -j SNAT --to-source 10.8.0.1', 'COMMIT', '']
        const r = spawnSync('ip', ['netns', 'exec', node, 'iptables-restore'], {input: rules.join('\n'), encoding: 'utf8'})
        if (r.status !== 0) throw new Error(`iptables-restore: ${r.stderr}`)
        for (const x of ['a', 'c', 'X']) await listen(pod(x), 8080)
      } catch (e) {
        removeAll()
        throw e
      }
    })

    it('DNAT to a pod on the same bridge: predicted bridged to vethc and delivered there; the connection is accepted', (ctx) => {
      if (unavailable) return ctx.skip(unavailable)
      expect(connects(pod('a'), '10.8.0.3', 80)).toBe(true)
      const r = trace('10.8.0.2', '10.8.0.3:80', [node])
      const bridge = r.steps.find((s) => s.kind === 'bridge')!
      expect(bridge).toMatchObject({verdictKind: 'forward', verdict: 'forward to vethc'})
      expect(bridge.details.join('\n')).toContain('PREROUTING changed the destination 10.8.0.3 → 10.8.0.4')
      expect(r.outcome).toMatchObject({kind: 'delivered', text: `reaches 10.8.0.4:8080 in ${pod('c')} on ${node}`})
    })

    it('DNAT to an address behind another device: predicted passed up to br0 and routed out ext; the connection is accepted', (ctx) => {
      if (unavailable) return ctx.skip(unavailable)
      const r = trace('10.8.0.2', '10.8.0.3:81', [node])
      expect(r.steps.find((s) => s.kind === 'bridge')).toMatchObject({verdictKind: 'pass-up'})
      expect(r.steps.find((s) => s.kind === 'routing')).toMatchObject({verdict: 'forward to ext'})
      expect(r.outcome).toMatchObject({kind: 'delivered', text: `reaches 10.9.0.2:8080 in ${pod('X')} on ${node}`})
      expect(connects(pod('a'), '10.8.0.3', 81)).toBe(true)
    })

    it('DNAT back to the sender: hairpin off predicted dropped by br0 and the connection times out; on, delivered and accepted', (ctx) => {
      if (unavailable) return ctx.skip(unavailable)
      const off = trace('10.8.0.2', '10.8.0.3:82', [node])
      expect(off.outcome).toMatchObject({kind: 'dropped', text: `dropped by br0 on ${node}: 10.8.0.2 is behind vetha, the port the frame came in by, and hairpin mode is off on it`})
      expect(connects(pod('a'), '10.8.0.3', 82)).toBe(false)
      must('ip', '-n', node, 'link', 'set', 'vetha', 'type', 'bridge_slave', 'hairpin', 'on')
      const on = trace('10.8.0.2', '10.8.0.3:82', [node])
      expect(on.outcome).toMatchObject({kind: 'delivered', text: `reaches 10.8.0.2:8080 in ${pod('a')} on ${node}`})
      expect(on.steps.find((s) => s.kind === 'bridge')).toMatchObject({verdict: 'forward to vetha'})
      expect(connects(pod('a'), '10.8.0.3', 82)).toBe(true)
    })
  })

  describe('VLAN filtering on br0 (kn-23)', () => {
    let unsupported: string | undefined
    let node = ''
    let pod: (x: string) => string = (x) => x
    beforeAll(async () => {
      unsupported = vlanFilteringUnsupported()
      if (unsupported) return
      try {
        ;({node, pod} = bridgeTopology('v'))
        must('ip', '-n', node, 'link', 'set', 'br0', 'type', 'bridge', 'vlan_filtering', '1')
        for (const x of ['a', 'b', 'c']) must('bridge', '-n', node, 'vlan', 'del', 'dev', `veth${x}`, 'vid', '1')
        must('bridge', '-n', node, 'vlan', 'add', 'dev', 'vetha', 'vid', '10', 'pvid', 'untagged')
        must('bridge', '-n', node, 'vlan', 'add', 'dev', 'vethb', 'vid', '10', 'pvid', 'untagged')
        must('bridge', '-n', node, 'vlan', 'add', 'dev', 'vethc', 'vid', '20', 'pvid', 'untagged')
        for (const x of ['b', 'c']) await listen(pod(x), 8080)
      } catch (e) {
        removeAll()
        throw e
      }
    })

    it('same VLAN: forwarded and accepted; another VLAN: predicted refused by br_allowed_egress, and it times out', (ctx) => {
      if (unsupported) return ctx.skip(unsupported)
      const same = trace('10.8.0.2', '10.8.0.3:8080', [node])
      expect(same.outcome.kind).toBe('delivered')
      expect(connects(pod('a'), '10.8.0.3', 8080)).toBe(true)
      const other = trace('10.8.0.2', '10.8.0.4:8080', [node])
      expect(other.outcome.kind).toBe('dropped')
      expect(other.steps.at(-1)).toMatchObject({kind: 'bridge', verdictKind: 'drop'})
      expect(connects(pod('a'), '10.8.0.4', 8080)).toBe(false)
    })

    it('no PVID on the ingress port: predicted dropped by br_allowed_ingress, and it times out', (ctx) => {
      if (unsupported) return ctx.skip(unsupported)
      must('bridge', '-n', node, 'vlan', 'add', 'dev', 'vetha', 'vid', '10')
      const r = trace('10.8.0.2', '10.8.0.3:8080', [node])
      expect(r.outcome.text).toContain('port vetha has no PVID')
      expect(connects(pod('a'), '10.8.0.3', 8080)).toBe(false)
    })
  })
})
