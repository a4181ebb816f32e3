// The lab on the real kernel, under its own prefix (nilab-t<pid>): up, state vs what the tools see,
// a real TCP connection across the VXLAN overlay and its flow recordings, idempotence, a failing step,
// down, and a host that is exactly as before.
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {labAsset, LabError} from '../../src/lab/exec.js'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import {readFlowRecords, type FlowRecord} from '../../src/lab/recording.js'
import {readLabState, type LabState} from '../../src/lab/state.js'
import {labStatus} from '../../src/lab/status.js'
import {existingLabNamespaces, labDown, mountsAt} from '../../src/lab/teardown.js'
import {LAB_RUN_ROOT, labTopology} from '../../src/lab/topology.js'
import {labUp} from '../../src/lab/up.js'
import {bpfHelperPath} from '../../src/source/live.js'
import {runCommand} from '../../src/source/run-command.js'
import {cli} from '../helpers/cli.js'

const pre = checkLabPrerequisites()
const helperReason = existsSync(bpfHelperPath()) ? '' : `no helper binary at ${bpfHelperPath()} (run: make -C native)`
const skipReason = [pre.reason, helperReason].filter(Boolean).join('; ')
if (skipReason) console.warn(`test/lab/lab.integration.test.ts: skipping the lab tests: ${skipReason}`)

const prefix = `nilab-t${process.pid}`
const topo = labTopology(prefix)
const node1 = topo.nodes[0]!
const node2 = topo.nodes[1]!
const curl = topo.pods.find((p) => p.name === 'curl')!
const httpbin = topo.pods.find((p) => p.name === 'httpbin')!

async function run(argv: string[], timeoutMs = 20_000) {
  return runCommand({file: argv[0]!, args: argv.slice(1), logicalArgv: argv, timeoutMs})
}
async function must(argv: string[]): Promise<string> {
  const r = await run(argv)
  if (r.failure) throw new Error(r.message)
  return r.stdout
}
const inNs = (netns: string, argv: string[]) => ['nsenter', `--net=/run/netns/${netns}`, '--', ...argv]

/** What the root netns and the host look like; lab down must give exactly this back. */
async function hostSnapshot(): Promise<Record<string, string>> {
  const cmds: Record<string, string[]> = {
    'ip -j -d link': ['ip', '-j', '-d', 'link', 'show'],
    'ip -j route show table all': ['ip', '-j', 'route', 'show', 'table', 'all'],
    'ip -j -6 route show table all': ['ip', '-j', '-6', 'route', 'show', 'table', 'all'],
    'ip -j rule': ['ip', '-j', 'rule'],
    'iptables-save': ['iptables-save'],
    'nft list ruleset': ['nft', 'list', 'ruleset'],
  }
  const out: Record<string, string> = {}
  for (const [name, argv] of Object.entries(cmds)) {
    const r = await run(argv)
    let text = r.failure === 'missing-binary' ? '<not installed>' : `${r.stdout}${r.failure ? `\n<${r.message}>` : ''}`
    // Timestamps and packet counters are not state.
    if (name === 'iptables-save') text = text.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]')).join('\n')
    if (name === 'nft list ruleset') text = text.replace(/packets \d+ bytes \d+/g, 'packets 0 bytes 0')
    out[name] = text
  }
  // Mounts minus /run/netns (ip netns bind mounts) and minus other concurrent test runs' own throwaway mounts.
  const others = (p: string) => (/^\/run\/nodeinspect-test-\d+(\/|$)/.test(p) && !p.startsWith(`/run/nodeinspect-test-${process.pid}`)) || (p.startsWith(`${LAB_RUN_ROOT}/`) && !p.startsWith(`${topo.stateDir}/`) && p !== `${topo.stateDir}`)
  out.mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ')
      const dash = f.indexOf('-')
      return `${f[4]} ${f[dash + 1]} ${f[dash + 2]}`
    })
    .filter((m) => !m.startsWith('/run/netns ') && !m.startsWith('/run/netns/') && !others(m.split(' ')[0]!))
    .sort()
    .join('\n')
  out.netns = readdirSync('/run/netns')
    .filter((n) => n.startsWith(`${prefix}-`))
    .sort()
    .join('\n')
  return out
}

/** Labs of crashed earlier runs of this file (nilab-t<pid> whose pid is gone). */
async function sweepStaleTestLabs(): Promise<void> {
  const prefixes = new Set<string>()
  for (const n of readdirSync('/run/netns')) {
    const m = /^(nilab-t(\d+))-/.exec(n)
    if (m && !existsSync(`/proc/${m[2]}`)) prefixes.add(m[1]!)
  }
  if (existsSync(LAB_RUN_ROOT)) {
    for (const d of readdirSync(LAB_RUN_ROOT)) {
      const m = /^nilab-t(\d+)$/.exec(d)
      if (m && !existsSync(`/proc/${m[1]}`)) prefixes.add(d)
    }
  }
  for (const p of prefixes) await labDown(p)
}

describe.skipIf(skipReason !== '')(`lab on the kernel, prefix ${prefix} (${skipReason || 'root, CAP_NET_ADMIN/SYS_ADMIN/BPF, tools present'})`, () => {
  let before: Record<string, string>
  let state: LabState

  beforeAll(async () => {
    await sweepStaleTestLabs()
    before = await hostSnapshot()
  })

  afterAll(async () => {
    await labDown(prefix)
  })

  it('lab up builds it in a few seconds and writes the state file', async () => {
    const t0 = performance.now()
    state = await labUp({prefix})
    const ms = Math.round(performance.now() - t0)
    console.log(`lab up: ${ms} ms (state.upMs ${state.upMs})`)
    expect(ms).toBeLessThan(15_000)
    expect(readLabState(topo)).toEqual(state)
    expect(existingLabNamespaces(prefix)).toEqual([...topo.namespaces].sort())
    expect(mountsAt(topo.bpffs)).toBe(1)
    const st = labStatus(prefix)
    expect(st.up).toBe(true)
    expect(state.processes).toEqual([expect.objectContaining({pod: 'httpbin', netns: httpbin.netns, listen: '10.42.0.51:80'})])
  })

  it('the state lists every expected attachment, with the ids bpftool and the helper see', async () => {
    expect(state.attachments.map((a) => `${a.node} ${a.devname} ${a.kind} ${a.hook}`)).toEqual(topo.attachments.map((a) => `${a.node} ${a.devname} ${a.kind} ${a.hook}`))
    for (const a of state.attachments) expect(a.progId, `${a.node} ${a.devname} ${a.kind}`).toBeGreaterThan(0)
    for (const node of topo.nodes) {
      const net = (JSON.parse(await must(inNs(node.netns, ['bpftool', '-j', 'net', 'show']))) as Array<{xdp: Array<{devname: string; mode: string; id: number}>; tc: Array<{devname: string; kind: string; name: string; id: number}>}>)[0]!
      const mine = state.attachments.filter((a) => a.node === node.name)
      expect(net.tc.map((x) => `${x.devname} ${x.kind} ${x.name} ${x.id}`).sort()).toEqual(mine.filter((a) => a.via === 'tc').map((a) => `${a.devname} ${a.kind} ${a.tcName} ${a.progId}`).sort())
      expect(net.xdp.map((x) => `${x.devname} ${x.mode} ${x.id}`)).toEqual(mine.filter((a) => a.via === 'xdp').map((a) => `${a.devname} driver ${a.progId}`))
      // tcx is invisible to bpftool 7.1: the helper is the ground truth.
      const q = JSON.parse(await must(inNs(node.netns, [bpfHelperPath(), 'query']))) as {attachments: Array<{devname: string; attach_type: string; progs: Array<{prog_id: number; link_id: number}>}>}
      expect(q.attachments.map((x) => `${x.devname} ${x.attach_type.replace('_', '/')} ${x.progs.map((p) => `${p.prog_id}/${p.link_id}`).join(',')}`).sort()).toEqual(
        mine.filter((a) => a.via === 'tcx').map((a) => `${a.devname} ${a.kind} ${a.progId}/${a.linkId}`).sort(),
      )
    }
    // SCENARIO: node 2's pod veth has no egress program, neither tc nor tcx.
    expect(JSON.parse(await must(inNs(node2.netns, ['tc', '-j', 'filter', 'show', 'dev', 'lxc65015af813d1', 'egress'])))).toEqual([])
    expect(state.attachments.filter((a) => a.devname === 'lxc65015af813d1').map((a) => a.kind)).toEqual(['clsact/ingress'])
    // The foreign tcx program runs first on node 2's eth0 (tcx runs before clsact).
    expect(state.attachments.find((a) => a.node === 'node2' && a.hook === 'foreign')).toMatchObject({devname: 'eth0', kind: 'tcx/ingress', tcxPosition: 0, progName: 'foreign_ingress'})
    expect(state.tailCalls.map((t) => t.progId).every((id) => id > 0)).toBe(true)
  })

  it('devices carry the scenario ifindexes and MACs; the pod routes via the router', async () => {
    const dev = (netns: string, name: string) => state.devices.find((d) => d.netns === netns && d.name === name)
    expect(dev(node1.netns, 'eth0')).toMatchObject({ifindex: 2, kind: 'veth', addresses: ['192.168.1.12/24'], peerNetns: node2.netns, peerIfindex: 2})
    expect(dev(node2.netns, 'cilium_vxlan')).toMatchObject({ifindex: 5, kind: 'vxlan'})
    expect(dev(node1.netns, 'cilium_host')).toMatchObject({ifindex: 4, addresses: ['10.42.1.247/32']})
    expect(dev(node1.netns, 'lxc48c4aa0637ce')).toMatchObject({ifindex: 43, mac: 'ae:36:76:3e:c3:03', peerNetns: curl.netns, peerIfindex: 42})
    expect(dev(curl.netns, 'eth0')).toMatchObject({ifindex: 42, mac: 'f6:00:50:f9:92:a1', addresses: ['10.42.1.80/32']})
    expect(dev(httpbin.netns, 'eth0')).toMatchObject({ifindex: 28, mac: '96:86:44:a6:37:ec'})
    const route = JSON.parse(await must(['ip', '-n', curl.netns, '-j', 'route', 'get', '10.42.0.51'])) as Array<{gateway: string; dev: string; prefsrc: string}>
    expect(route[0]).toMatchObject({gateway: '10.42.1.247', dev: 'eth0', prefsrc: '10.42.1.80'})
    const fdb = JSON.parse(await must(['bridge', '-n', node1.netns, '-j', 'fdb', 'show', 'dev', 'cilium_vxlan'])) as Array<{mac: string; dst?: string}>
    expect(fdb).toContainEqual(expect.objectContaining({mac: '00:00:00:00:00:00', dst: '192.168.1.13'}))
  })

  it('lab up again is idempotent: a fresh lab, nothing of the old one left', async () => {
    const old = state
    state = await labUp({prefix})
    expect(state.attachments).toHaveLength(old.attachments.length)
    expect(state.attachments.map((a) => a.progId)).not.toEqual(old.attachments.map((a) => a.progId))
    expect(existsSync(`/proc/${old.processes[0]!.pid}/ns/net`)).toBe(false)
    expect(mountsAt(topo.bpffs)).toBe(1)
  })

  it('a real TCP connection from pod 1 reaches httpbin over VXLAN, and every hook on the path recorded it', async () => {
    const r = await run(inNs(curl.netns, [process.execPath, labAsset('http-get.mjs'), '10.42.0.51', '80', '3000']), 10_000)
    const res = JSON.parse(r.stdout) as {ok: boolean; status: number; local: string}
    expect(res).toMatchObject({ok: true, status: 200})
    const sport = Number(res.local.split(':')[1])
    expect(res.local).toBe(`10.42.1.80:${sport}`)

    const fwd = await readFlowRecords({prefix, filter: {saddr: '10.42.1.80', daddr: '10.42.0.51', sport, dport: 80, proto: 'tcp'}})
    const seen = (r: FlowRecord) => `${r.node} ${r.devname}(${r.ifindex}) ${r.hook}${r.encapsulated ? ' encapsulated' : ''}`
    expect(fwd.map(seen)).toEqual([
      'node1 lxc48c4aa0637ce(43) from-container',
      'node1 cilium_vxlan(5) to-overlay',
      'node1 eth0(2) to-netdev encapsulated',
      'node2 lxc65015af813d1(29) to-container',
      'node2 cilium_vxlan(5) from-overlay',
      'node2 eth0(2) from-netdev encapsulated',
      'node2 eth0(2) xdp encapsulated',
      'node2 eth0(2) foreign encapsulated',
    ])
    // A handshake, a request and the close: at least 3 packets at every hook; the baseline never marks.
    for (const x of fwd) {
      expect(x.packets, seen(x)).toBeGreaterThanOrEqual(3)
      expect([x.firstMark, x.lastMark]).toEqual([0, 0])
    }
    // Replies take the mirror path.
    const back = await readFlowRecords({prefix, filter: {saddr: '10.42.0.51', daddr: '10.42.1.80', sport: 80, dport: sport}})
    expect(back.map(seen)).toEqual([
      'node1 lxc48c4aa0637ce(43) to-container',
      'node1 cilium_vxlan(5) from-overlay',
      'node1 eth0(2) from-netdev encapsulated',
      'node2 lxc65015af813d1(29) from-container',
      'node2 cilium_vxlan(5) to-overlay',
      'node2 eth0(2) to-netdev encapsulated',
    ])
  })

  it.skipIf(!existsSync('dist/commands/lab/status.js'))('nodeinspect lab status --json prints the state (built CLI)', () => {
    const r = cli(['lab', 'status', '--prefix', prefix, '--json'])
    expect(r.status).toBe(0)
    const doc = JSON.parse(r.stdout) as {up: boolean; state: LabState}
    expect(doc.up).toBe(true)
    expect(doc.state).toEqual(state)
  })

  it('lab down removes everything and is safe to run twice', async () => {
    const t0 = performance.now()
    const rep = await labDown(prefix)
    console.log(`lab down: ${Math.round(performance.now() - t0)} ms`)
    expect(rep).toMatchObject({prefix, hadState: true, bpffsUnmounted: 1, stateDirRemoved: true, nothingToDo: false})
    expect(rep.namespaces).toEqual([...topo.namespaces].sort())
    expect(rep.killed.map((k) => k.netns)).toEqual([httpbin.netns])
    expect(labStatus(prefix)).toEqual({up: false, prefix})
    expect(await labDown(prefix)).toMatchObject({nothingToDo: true})
  })

  it('a failing step is named in one line and leaves nothing behind', async () => {
    const err = await labUp({prefix, bpfDefines: ['-DNI_MARK_OR=)']}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LabError)
    expect((err as LabError).step).toBe('compile')
    expect((err as LabError).message).toMatch(/^compile: clang .* exit 1: /)
    expect((err as LabError).message).not.toContain('\n')
    expect(existingLabNamespaces(prefix)).toEqual([])
    expect(mountsAt(topo.bpffs)).toBe(0)
    expect(existsSync(topo.stateDir)).toBe(false)
  })

  it('the host is exactly as before', async () => {
    const after = await hostSnapshot()
    for (const k of Object.keys(before)) expect(after[k], k).toBe(before[k])
  })
})
