// The lab on the real kernel, under its own prefix (nilab-t<pid>): up, state vs what the tools see,
// a real TCP connection across the VXLAN overlay and its flow recordings, idempotence, a failing step,
// down, and a host that is exactly as before.
import {existsSync, readdirSync, rmSync} from 'node:fs'
import {liveSource} from '../../src/state/sources.js'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UserError} from '../../src/errors.js'
import {labAsset, LabError} from '../../src/lab/exec.js'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import {readLabState, type LabState} from '../../src/lab/state.js'
import {labStatus} from '../../src/lab/status.js'
import {existingLabNamespaces, labDown, mountsAt} from '../../src/lab/teardown.js'
import {LAB_RUN_ROOT, labTopology} from '../../src/lab/topology.js'
import {labUp} from '../../src/lab/up.js'
import {collectDatapathFacts} from '../../src/state/datapath-facts.js'
import type {CiliumFacts} from '../../src/datapaths/cilium/facts.js'
import type {CiliumIpcacheEntry} from '../../src/datapaths/cilium/ipcache.js'
import {lookupIpcache} from '../../src/datapaths/cilium/ipcache-lookup.js'
import type {CiliumEndpoint} from '../../src/datapaths/cilium/lxc.js'
import type {CiliumMapName} from '../../src/datapaths/cilium/map-names.js'
import {ciliumPlugin} from '../../src/datapaths/cilium/plugin.js'
import type {CiliumTunnelEntry} from '../../src/datapaths/cilium/tunnel-map.js'
import type {Warning} from '../../src/model/warning.js'
import type {Source} from '../../src/source/types.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {runCommand} from '../../src/source/run-command.js'
import {RecordingSource} from '../../src/source/snapshot.js'
import {cli} from '../helpers/cli.js'
import {hostStateSnapshot, LIVE_LAB_TEST_TIMEOUT} from './live.js'
import {readFlowRecords, type FlowRecord} from '../support/flow-records.js'

/** Cilium's facts as the node's collector reads them: the generic map reader with only the Cilium plugin. */
async function collectCiliumMaps(src: Source, opts: {attachedProgIds?: readonly number[]; maps?: readonly CiliumMapName[]} = {}): Promise<CiliumFacts & {warnings: Warning[]}> {
  const {facts, warnings} = await collectDatapathFacts(src, {...(opts.attachedProgIds ? {attachedProgIds: opts.attachedProgIds} : {}), plugins: [ciliumPlugin(opts.maps ? {maps: opts.maps} : {})]})
  return {...(facts.cilium as CiliumFacts), warnings}
}

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

describe.skipIf(skipReason !== '')(`lab on the kernel, prefix ${prefix} (${skipReason || 'root, CAP_NET_ADMIN/SYS_ADMIN/BPF, tools present'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  let before: Record<string, string>
  let state: LabState

  beforeAll(async () => {
    await sweepStaleTestLabs()
    before = await hostStateSnapshot(prefix)
  })

  afterAll(async () => {
    await labDown(prefix)
  })

  // How long it takes is for bench/lab-up.sh: a wall-clock bound here would fail on a slow or loaded machine.
  it('lab up builds it and writes the state file', async () => {
    const t0 = performance.now()
    state = await labUp({prefix})
    console.log(`lab up: ${Math.round(performance.now() - t0)} ms (state.upMs ${state.upMs})`)
    expect(readLabState(topo)).toEqual(state)
    expect(existingLabNamespaces(prefix)).toEqual([...topo.namespaces].sort())
    expect(mountsAt(topo.bpffs)).toBe(1)
    const st = labStatus(prefix)
    expect(st.up).toBe(true)
    // Listeners: httpbin and nginx (pods), and the external namespace's.
    expect(state.processes.map((p) => `${p.pod} ${p.netns} ${p.listen}`).sort()).toEqual([`ext ${topo.ext.netns} 172.31.0.2:80`, `httpbin ${httpbin.netns} 10.42.0.51:80`, `nginx ${prefix}-n1-nginx 10.42.1.81:80`])
    expect(state.variant).toBe('base')
    expect(state.collide).toBeUndefined()
  })

  it("node 1's rules are in place, each read back with iptables-save at its position", async () => {
    expect(state.netfilter.rules.length).toBeGreaterThan(20)
    expect(state.netfilter.rules.every((r) => r.node === 'node1' && r.variant === 'base' && r.saved.startsWith(`-A ${r.chain} `))).toBe(true)
    // iptables-save prints MARK's --or-mark and --xor-mark as --set-xmark value/mask.
    expect(state.netfilter.rules.find((r) => r.chain === 'KUBE-MARK-MASQ')!.saved).toBe('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000')
    expect(state.netfilter.rules.find((r) => r.rule === '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000')!.saved).toBe('-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0')
    const save = await must(inNs(node1.netns, ['iptables-save']))
    for (const r of state.netfilter.rules) expect(save).toContain(`${r.saved}\n`)
    // node 2 has no rules at all.
    expect((await must(inNs(node2.netns, ['iptables-save']))).split('\n').filter((l) => l.startsWith('-A '))).toEqual([])
    expect(state.devices.find((d) => d.netns === topo.ext.netns && d.name === 'eth0')).toMatchObject({ifindex: 2, addresses: ['172.31.0.2/24'], peerNetns: node1.netns, peerIfindex: 6})
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

  it("each node has its own Cilium maps (no BTF, pinned in the lab bpffs), used by that node's programs only", async () => {
    expect(state.ciliumMaps.map((m) => `${m.node} ${m.name} ${m.entries}`)).toEqual([
      'node1 cilium_ipcache 10',
      'node1 cilium_lxc 4',
      'node1 cilium_tunnel_map 1',
      'node1 cilium_call_policy 2',
      'node2 cilium_ipcache 10',
      'node2 cilium_lxc 4',
      'node2 cilium_tunnel_map 1',
      'node2 cilium_call_policy 2',
    ])
    expect(new Set(state.ciliumMaps.map((m) => m.id)).size).toBe(8)
    for (const m of state.ciliumMaps) expect(m.pin.startsWith(`${topo.bpffs}/${m.node}/tc/globals/`)).toBe(true)
    const idOf = (node: string, name: string) => state.ciliumMaps.find((m) => m.node === node && m.name === name)!.id
    for (const node of topo.nodes) {
      const other = node.name === 'node1' ? 'node2' : 'node1'
      const net = (JSON.parse(await must(inNs(node.netns, ['bpftool', '-j', 'net', 'show']))) as Array<{tc: Array<{name: string; id: number}>}>)[0]!
      const mapIds = async (tcName: string) => (JSON.parse(await must(['bpftool', '-j', 'prog', 'show', 'id', String(net.tc.find((x) => x.name === tcName)!.id)])) as {map_ids: number[]}).map_ids
      // SCENARIO step 2: from-container looks up the ipcache; steps 6-7: from-overlay uses cilium_lxc and cilium_call_policy.
      expect(await mapIds('bpf_lxc.o:[from-container]')).toEqual(expect.arrayContaining([idOf(node.name, 'cilium_ipcache'), idOf(node.name, 'cilium_tunnel_map')]))
      const overlay = await mapIds('bpf_overlay.o:[from-overlay]')
      expect(overlay).toEqual(expect.arrayContaining([idOf(node.name, 'cilium_lxc'), idOf(node.name, 'cilium_call_policy')]))
      expect(overlay).not.toContain(idOf(other, 'cilium_lxc'))
      const show = JSON.parse(await must(['bpftool', '-j', 'map', 'show', 'id', String(idOf(node.name, 'cilium_call_policy'))])) as {name: string; btf_id?: number}
      expect(show).toMatchObject({name: 'cilium_call_pol'})
      expect(show.btf_id).toBeUndefined()
    }
  })

  /** The facts the probe must decode from what `lab up` wrote (state.cilium), in the probe's vocabulary. */
  function expectedCilium(node: 'node1' | 'node2') {
    const c = state.cilium.find((x) => x.node === node)!
    const ipcache: CiliumIpcacheEntry[] = c.ipcache.map((e) => {
      const [address, len] = e.prefix.split('/') as [string, string]
      const x: CiliumIpcacheEntry = {prefix: e.prefix, family: 'ipv4', address, prefixLen: Number(len), identity: e.identity, encryptKey: e.encryptKey, layout: 'v1'}
      if (e.tunnelEndpoint !== '0.0.0.0') x.tunnelEndpoint = e.tunnelEndpoint
      return x
    })
    const endpoints: CiliumEndpoint[] = c.endpoints.map((e) => ({ip: e.ip, family: 'ipv4', keyIndex: 0, endpointId: e.endpointId, ifindex: e.ifindex, mac: e.mac, nodeMac: e.nodeMac, flags: e.flags, isHost: e.flags === 1}))
    const tunnels: CiliumTunnelEntry[] = c.tunnels.map((e) => ({ip: e.ip, family: 'ipv4', tunnelEndpoint: e.tunnelEndpoint, encryptKey: e.encryptKey}))
    const policyCalls = state.tailCalls.filter((t) => t.node === node).map((t) => ({key: t.slot, progId: t.progId})).sort((a, b) => a.key - b.key)
    return {ipcache, endpoints, tunnels, policyCalls}
  }
  const byKey = <T>(f: (x: T) => string) => (a: T, b: T) => f(a).localeCompare(f(b))

  for (const node of ['node1', 'node2'] as const) {
    it(`collectCiliumMaps inside ${node}'s netns reads ${node}'s maps (raw, no BTF) and decodes exactly what the lab wrote`, async () => {
      const src = new RecordingSource(liveSource({netns: `${prefix}-${node}`}))
      const r = await collectCiliumMaps(src)
      expect(r.warnings).toEqual([])
      // Constant processes: map show, prog show, net show, then one dump per Cilium map name in the kernel (other
      // labs' or stray maps may add cilium_ipcache_v2 to the lab's four).
      const ran = [...src.outputs.values()].map((o) => o.argv.slice(1, 4).join(' '))
      // (The first three run in parallel: the recording keeps them in the order they finished.)
      expect(ran.slice(0, 3).sort()).toEqual(['-j map show', '-j net show', '-j prog show'])
      expect(ran.slice(3)).toEqual(r.selected.map(() => '-j map dump'))
      expect(r.selected.length).toBeLessThanOrEqual(5)
      const mine = state.ciliumMaps.filter((m) => m.node === node)
      const ours = r.selected.filter((c) => mine.some((m) => m.name === c.name))
      for (const o of src.outputs.values()) if (ours.some((c) => o.argv.join(' ').endsWith(`dump id ${c.map.id}`))) expect(o.stdout).not.toContain('formatted')
      expect(ours.map((c) => `${c.name} ${c.map.id}`).sort()).toEqual(mine.map((m) => `${m.name} ${m.id}`).sort())
      // Both nodes' maps are in the kernel (and maybe other labs'): the programs attached here decided.
      for (const c of ours) {
        expect(c.candidateIds.length, c.name).toBeGreaterThanOrEqual(2)
        expect(c.reason, c.name).toBe('attached')
      }
      const want = expectedCilium(node)
      expect(r.ipcacheMap).toBe('cilium_ipcache')
      expect([...r.ipcache].sort(byKey((e) => e.prefix))).toEqual(want.ipcache.sort(byKey((e) => e.prefix)))
      expect([...r.endpoints].sort(byKey((e) => e.ip))).toEqual(want.endpoints.sort(byKey((e) => e.ip)))
      expect(r.tunnels).toEqual(want.tunnels)
      expect(r.policyCalls).toEqual(want.policyCalls)
    })
  }

  it("SCENARIO's walk through the live maps: node 1 ipcache -> 192.168.1.13, node 2 cilium_lxc -> 2826 -> httpbin's to-container", async () => {
    const n1 = await collectCiliumMaps(liveSource({netns: node1.netns}))
    expect(lookupIpcache(n1.ipcache, '10.42.0.51')).toMatchObject({prefix: '10.42.0.51/32', identity: 15773, tunnelEndpoint: '192.168.1.13', encryptKey: 0})
    expect(lookupIpcache(n1.ipcache, '10.42.0.99')).toMatchObject({prefix: '10.42.0.0/24', identity: 2, tunnelEndpoint: '192.168.1.13'})
    expect(lookupIpcache(n1.ipcache, '1.1.1.1')).toMatchObject({prefix: '0.0.0.0/0', identity: 2})
    // The tcx program ids come from the helper: pass every attachment of the state (then no bpftool net show).
    const attached = state.attachments.filter((a) => a.netns === node2.netns).map((a) => a.progId)
    const n2 = await collectCiliumMaps(liveSource({netns: node2.netns}), {attachedProgIds: attached})
    const ep = n2.endpoints.find((e) => e.ip === '10.42.0.51')!
    expect(ep).toMatchObject({endpointId: 2826, ifindex: 29, mac: '96:86:44:a6:37:ec', nodeMac: 'd2:ad:65:4d:d0:7b', flags: 0})
    const call = n2.policyCalls.find((c) => c.key === ep.endpointId)!
    expect(call.progId).toBe(state.tailCalls.find((t) => t.pod === 'httpbin')!.progId)
  })

  it("a newer lingering cilium_ipcache (as an earlier agent's) does not mislead the collector; without attachments it takes the newest and says so", async () => {
    const stale = `${topo.bpffs}/stale-cilium_ipcache`
    await must(['bpftool', 'map', 'create', stale, 'type', 'lpm_trie', 'key', '24', 'value', '12', 'entries', '16', 'name', 'cilium_ipcache', 'flags', '1'])
    try {
      const staleId = (JSON.parse(await must(['bpftool', '-j', 'map', 'show', 'pinned', stale])) as {id: number}).id
      const r = await collectCiliumMaps(liveSource({netns: node1.netns}), {maps: ['cilium_ipcache']})
      expect(r.selected[0]!.candidateIds).toContain(staleId)
      expect(r.selected[0]!.map.id).toBe(state.ciliumMaps.find((m) => m.node === 'node1' && m.name === 'cilium_ipcache')!.id)
      const blind = await collectCiliumMaps(liveSource({netns: node1.netns}), {maps: ['cilium_ipcache'], attachedProgIds: []})
      expect(blind.selected[0]!.reason).toBe('newest')
      expect(blind.selected[0]!.map.id).toBeGreaterThanOrEqual(staleId)
      expect(blind.notes[0]).toMatch(/maps named cilium_ipcache .* none is used by a program attached here: read the newest/)
    } finally {
      rmSync(stale)
    }
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

  it('lab up on a lab that is up refuses in one line, and leaves it as it was', async () => {
    const err = await labUp({prefix}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as Error).message).toBe(`lab up: lab ${prefix} is already up (since ${state.createdAt}, variant base); use --rebuild to build it anew, or \`lab down\` first`)
    expect(readLabState(topo)).toEqual(state)
    expect(existsSync(`/proc/${state.processes[0]!.pid}/ns/net`)).toBe(true)
  })

  it('lab up --rebuild is idempotent: a fresh lab, nothing of the old one left', async () => {
    const old = state
    state = await labUp({prefix, rebuild: true})
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
    expect(rep.killed.map((k) => k.netns).sort()).toEqual([topo.ext.netns, `${prefix}-n1-nginx`, httpbin.netns].sort())
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
    const after = await hostStateSnapshot(prefix)
    for (const k of Object.keys(before)) expect(after[k], k).toBe(before[k])
  })
})
