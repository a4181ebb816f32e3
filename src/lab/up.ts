/**
 * `lab up`: build the two-node Cilium-like lab of topology.ts in network namespaces, attach the lab's
 * BPF programs like Cilium does, start the httpbin listener, read every attachment back and write the
 * state file. Idempotent (tears down leftovers of the same prefix first); on any failure it tears
 * everything down and throws a LabError naming the step.
 */
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {bpfHelperPath} from '../source/live.js'
import {bpfObjectPlan, compileBpfObjects, objectPath} from './bpf-objects.js'
import {labAsset, LabError, labRun, PROJECT_ROOT, splitJsonValues} from './exec.js'
import {checkLabPrerequisites} from './privileges.js'
import {LAB_STATE_VERSION, writeLabState, type LabAttachmentState, type LabDeviceState, type LabProcessState, type LabState, type LabTailCallState} from './state.js'
import {labDown} from './teardown.js'
import {CALLS_MAP_NAME, ENDPOINT_MAP_NAME, FLOW_MAP_NAME, labTopology, type ExpectedAttachment, type LabNode, type LabPod, type LabTopology} from './topology.js'
import {UserError} from '../errors.js'

export interface LabUpOptions {
  prefix: string
  /** Extra clang defines for every lab object, e.g. ['-DNI_MARK_OR=0x200'] (see lab/bpf/nilab.h). */
  bpfDefines?: string[]
  /** Called before each step (for progress output). */
  onStep?: (step: string) => void
}

/** `ip -batch` lines for one node netns (node1 also creates the underlay pair whose other end goes to node2). */
export function nodeIpBatch(topo: LabTopology, node: LabNode): string[] {
  const other = topo.nodes.find((n) => n.name !== node.name)!
  const {eth0, cilium_net, cilium_host, cilium_vxlan} = node.devices
  const pods = topo.pods.filter((p) => p.node === node.name)
  const lines: string[] = []
  if (node.name === topo.nodes[0]!.name) {
    // First, so that eth0 is ifindex 2 in both nodes.
    lines.push(`link add eth0 index ${eth0.ifindex} address ${eth0.mac} type veth peer name eth0 index ${other.devices.eth0.ifindex} address ${other.devices.eth0.mac} netns ${other.netns}`)
  }
  lines.push(`link add cilium_net index ${cilium_net.ifindex} address ${cilium_net.mac} type veth peer name cilium_host index ${cilium_host.ifindex} address ${cilium_host.mac}`)
  lines.push(
    `link add cilium_vxlan index ${cilium_vxlan.ifindex} address ${cilium_vxlan.mac} type vxlan id ${node.vxlan.vni} dstport ${node.vxlan.dstport} local ${node.vxlan.local} dev ${node.vxlan.dev} nolearning`,
  )
  for (const p of pods) {
    lines.push(`link add ${p.lxc.name} index ${p.lxc.ifindex} address ${p.lxc.mac} type veth peer name eth0 index ${p.eth0.ifindex} address ${p.eth0.mac} netns ${p.netns}`)
  }
  for (const a of eth0.addresses) lines.push(`addr add ${a} dev eth0`)
  for (const a of cilium_host.addresses) lines.push(`addr add ${a} dev cilium_host`)
  for (const d of ['lo', 'eth0', 'cilium_net', 'cilium_host', 'cilium_vxlan', ...pods.map((p) => p.lxc.name)]) lines.push(`link set dev ${d} up`)
  for (const p of pods) lines.push(`route add ${p.ip}/32 dev ${p.lxc.name} scope link`)
  // Remote pod CIDR over the overlay: gateway = the other node's router IP, resolved to its cilium_vxlan MAC.
  lines.push(`neigh add ${other.routerIp} lladdr ${other.devices.cilium_vxlan.mac} dev cilium_vxlan nud permanent`)
  lines.push(`route add ${other.podCidr} via ${other.routerIp} dev cilium_vxlan onlink`)
  return lines
}

export function podIpBatch(pod: LabPod): string[] {
  return [
    'link set dev lo up',
    'link set dev eth0 up',
    `addr add ${pod.ip}/32 dev eth0`,
    `route add ${pod.gateway}/32 dev eth0 scope link`,
    `route add default via ${pod.gateway} dev eth0`,
  ]
}

/** Sysctls, only ever inside lab namespaces. New namespaces inherit IPv4 settings from the host: set what matters. */
export function netnsSysctls(isNode: boolean): string[] {
  const s = [
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0',
    'net.ipv4.conf.all.arp_ignore=0',
    'net.ipv4.conf.default.arp_ignore=0',
    // No IPv6 chatter (router solicitations, DAD) in the lab: recordings hold only the traffic tests make.
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]
  if (isNode) s.unshift('net.ipv4.ip_forward=1')
  return s
}

/** `tc -batch` lines for one node: clsact qdiscs and the legacy filters (Cilium style: pref 1 handle 1, direct-action). */
export function nodeTcBatch(topo: LabTopology, node: LabNode): string[] {
  const atts = topo.attachments.filter((a) => a.node === node.name && a.via === 'tc')
  const lines: string[] = []
  const devs = [...new Set(atts.map((a) => a.devname))]
  for (const d of devs) lines.push(`qdisc add dev ${d} clsact`)
  for (const a of atts) {
    const dir = a.kind === 'clsact/ingress' ? 'ingress' : 'egress'
    lines.push(`filter add dev ${a.devname} ${dir} pref 1 handle 1 bpf direct-action obj ${objectPath(topo, node.name, a.object)} sec ${a.section}`)
  }
  return lines
}

function progPin(topo: LabTopology, name: string): string {
  return `${topo.bpffs}/lab/progs/${name}`
}

function tcxNames(a: ExpectedAttachment): {prog: string; link: string} {
  const dir = a.kind === 'tcx/ingress' ? 'ingress' : 'egress'
  return {prog: `${a.node}-${a.devname}-${a.function}`, link: `${a.node}-${a.devname}-tcx-${dir}`}
}

const hex32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(' ')
const hexIpv4 = (ip: string) => ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0')).join(' ')

/** bpftool batch: load the tcx and tail-call programs (sharing the pinned nilab_flows), fill nilab_calls and nilab_lxc. */
export function bpftoolBatch(topo: LabTopology): string[] {
  const flows = `map name ${FLOW_MAP_NAME} pinned ${topo.flowMapPin}`
  const lines: string[] = []
  for (const a of topo.attachments.filter((x) => x.via === 'tcx')) {
    lines.push(`prog load ${objectPath(topo, a.node, a.object)} ${progPin(topo, tcxNames(a).prog)} type classifier ${flows}`)
  }
  for (const t of topo.tailCalls) {
    lines.push(`prog load ${objectPath(topo, t.node, t.object)} ${progPin(topo, `${t.node}-${t.pod}-${t.function}`)} type classifier ${flows}`)
  }
  for (const t of topo.tailCalls) {
    lines.push(`map update pinned ${topo.globalsDir}/${CALLS_MAP_NAME} key hex ${hex32le(t.slot)} value pinned ${progPin(topo, `${t.node}-${t.pod}-${t.function}`)}`)
  }
  for (const p of topo.pods) {
    const node = topo.nodes.find((n) => n.name === p.node)!
    // struct ni_ep_key {u32 node; be32 addr} -> struct ni_ep_value {u32 ifindex; u32 slot}
    lines.push(`map update pinned ${topo.globalsDir}/${ENDPOINT_MAP_NAME} key hex ${hex32le(node.id)} ${hexIpv4(p.ip)} value hex ${hex32le(p.lxc.ifindex)} ${hex32le(p.callSlot)}`)
  }
  return lines
}

async function ensureHelper(): Promise<string> {
  const helper = bpfHelperPath()
  if (existsSync(helper)) return helper
  const makefile = join(PROJECT_ROOT, 'native', 'Makefile')
  if (!existsSync(makefile)) throw new LabError('helper', `helper: ${helper} is missing and ${makefile} is not there to build it`)
  await labRun('helper', ['make', '-s', '-C', join(PROJECT_ROOT, 'native')], {timeoutMs: 60_000})
  if (!existsSync(helper)) throw new LabError('helper', `helper: make did not produce ${helper}`)
  return helper
}

interface TcFilterJson {
  options?: {bpf_name?: string; prog?: {id?: number; name?: string; tag?: string}}
}
interface IpLinkJson {
  ifindex: number
  ifname: string
  address?: string
  mtu?: number
  link?: string
  link_index?: number
  linkinfo?: {info_kind?: string}
  xdp?: {mode?: number; prog?: {id?: number; name?: string; tag?: string}}
  addr_info?: Array<{family?: string; local?: string; prefixlen?: number}>
}
interface HelperQuery {
  attachments?: Array<{ifindex: number; devname: string; attach_type: string; progs: Array<{prog_id: number; link_id: number}>}>
  error?: string
}

function parseJsonOr<T>(step: string, text: string): T {
  try {
    return JSON.parse(text) as T
  } catch {
    throw new LabError(step, `${step}: unexpected output: ${text.trim().slice(0, 200)}`)
  }
}

export async function labUp(opts: LabUpOptions): Promise<LabState> {
  const started = performance.now()
  const topo = labTopology(opts.prefix)
  const step = (s: string) => opts.onStep?.(s)

  step('check')
  const pre = checkLabPrerequisites()
  if (!pre.ok) throw new UserError(`lab up: ${pre.reason}`)
  const helper = await ensureHelper()

  step('teardown leftovers')
  await labDown(topo.prefix)

  try {
    return await build(topo, helper, opts, step, started)
  } catch (e) {
    const err = e instanceof LabError || e instanceof UserError ? e : new LabError('unexpected', `unexpected: ${(e as Error).message}`)
    try {
      await labDown(topo.prefix)
    } catch (down) {
      throw new LabError(err instanceof LabError ? err.step : 'unexpected', `${err.message}; teardown also failed: ${(down as Error).message}`)
    }
    throw err
  }
}

async function build(topo: LabTopology, helper: string, opts: LabUpOptions, step: (s: string) => void, started: number): Promise<LabState> {
  mkdirSync(topo.stateDir, {recursive: true, mode: 0o755})

  // Compile in the background while the namespaces are built.
  const plan = bpfObjectPlan(topo, opts.bpfDefines)
  const compiled = compileBpfObjects(plan)
  compiled.catch(() => undefined)

  step('namespaces')
  await labRun('namespaces', ['ip', '-batch', '-'], {input: topo.namespaces.map((n) => `netns add ${n}`).join('\n') + '\n'})

  step('sysctls')
  await Promise.all(
    topo.namespaces.map((ns) =>
      labRun(`sysctls (${ns})`, ['sysctl', '-q', '-e', '-w', ...netnsSysctls(topo.nodes.some((n) => n.netns === ns))], {netns: ns}),
    ),
  )

  for (const node of topo.nodes) {
    step(`links (${node.name})`)
    await labRun(`links (${node.name})`, ['ip', '-n', node.netns, '-batch', '-'], {input: nodeIpBatch(topo, node).join('\n') + '\n'})
    // The VXLAN default destination: all-zero MAC -> the other node's underlay IP.
    await labRun(`vxlan fdb (${node.name})`, ['bridge', '-n', node.netns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'cilium_vxlan', 'dst', node.vxlan.remote])
  }
  step('pods')
  await Promise.all(topo.pods.map((p) => labRun(`pod network (${p.name})`, ['ip', '-n', p.netns, '-batch', '-'], {input: podIpBatch(p).join('\n') + '\n'})))

  step('bpffs')
  mkdirSync(topo.bpffs, {recursive: true})
  await labRun('bpffs', ['mount', '-t', 'bpf', 'bpf', topo.bpffs])
  mkdirSync(`${topo.bpffs}/lab/progs`, {recursive: true})
  mkdirSync(`${topo.bpffs}/lab/links`, {recursive: true})

  step('compile')
  await compiled

  // tc/ip's libbpf loader pins LIBBPF_PIN_BY_NAME maps under $TC_BPF_MNT/tc/globals: one nilab_flows for both nodes.
  const env = {TC_BPF_MNT: topo.bpffs}
  for (const node of topo.nodes) {
    step(`tc (${node.name})`)
    await labRun(`tc attach (${node.name})`, ['tc', '-batch', '-'], {netns: node.netns, env, input: nodeTcBatch(topo, node).join('\n') + '\n'})
  }
  for (const a of topo.attachments.filter((x) => x.via === 'xdp')) {
    step(`xdp (${a.node})`)
    await labRun(`xdp attach (${a.node} ${a.devname})`, ['ip', 'link', 'set', 'dev', a.devname, 'xdpdrv', 'obj', objectPath(topo, a.node, a.object), 'sec', a.section], {netns: a.netns, env})
  }

  step('bpftool')
  await labRun('bpftool load', ['bpftool', 'batch', 'file', '-'], {input: bpftoolBatch(topo).join('\n') + '\n'})

  step('tcx')
  const tcxResults = new Map<ExpectedAttachment, {prog_id: number; link_id: number; ifindex: number}>()
  for (const a of topo.attachments.filter((x) => x.via === 'tcx')) {
    const names = tcxNames(a)
    const args = ['tcx-attach', '--prog-pin', progPin(topo, names.prog), '--dev', a.devname, '--dir', a.kind === 'tcx/ingress' ? 'ingress' : 'egress', '--link-pin', `${topo.bpffs}/lab/links/${names.link}`]
    args.push(a.tcxPosition === 0 ? '--first' : '--last')
    const out = await labRun(`tcx attach (${a.node} ${a.devname})`, [helper, ...args], {netns: a.netns})
    tcxResults.set(a, parseJsonOr(`tcx attach (${a.node} ${a.devname})`, out.stdout))
  }

  step('listener')
  const processes: LabProcessState[] = []
  for (const p of topo.pods.filter((x) => x.listener)) {
    const pidFile = join(topo.stateDir, `${p.name}-httpd.pid`)
    const out = await labRun(`listener (${p.name})`, [process.execPath, labAsset('httpd.mjs'), 'daemon', pidFile, p.ip, String(p.listener!.port)], {netns: p.netns, timeoutMs: 15_000})
    const r = parseJsonOr<{pid: number; listen: string}>(`listener (${p.name})`, out.stdout)
    processes.push({name: 'httpd', pod: p.name, netns: p.netns, pid: r.pid, listen: r.listen, pidFile})
  }

  step('read back')
  const [tc, links, queries, {pins, calls}] = await Promise.all([readTc(topo), readLinks(topo), readTcx(topo, helper), readPins(topo)])

  const attachments: LabAttachmentState[] = topo.attachments.map((a) => {
    if (a.via === 'tc') {
      const f = tc.get(`${a.node}/${a.devname}/${a.kind}`)?.find((x) => x.options?.bpf_name === a.tcName)
      if (!f?.options?.prog?.id) throw new LabError('read back', `read back: no tc filter ${a.tcName} on ${a.node} ${a.devname} ${a.kind}`)
      return withIds(a, f.options.prog.id, f.options.prog.name ?? '', f.options.prog.tag)
    }
    if (a.via === 'xdp') {
      const l = links.get(a.netns)?.find((x) => x.ifname === a.devname)
      if (!l?.xdp?.prog?.id || l.xdp.mode !== 1) throw new LabError('read back', `read back: no driver-mode XDP program on ${a.node} ${a.devname}`)
      return withIds(a, l.xdp.prog.id, l.xdp.prog.name ?? '', l.xdp.prog.tag)
    }
    const made = tcxResults.get(a)!
    const q = queries.get(a.node)?.attachments?.find((x) => x.devname === a.devname && x.attach_type === (a.kind === 'tcx/ingress' ? 'tcx_ingress' : 'tcx_egress'))
    const pos = q?.progs.findIndex((p) => p.prog_id === made.prog_id && p.link_id === made.link_id) ?? -1
    if (pos < 0) throw new LabError('read back', `read back: nodeinspect-bpf query does not show tcx prog ${made.prog_id} on ${a.node} ${a.devname}`)
    const pin = pins.get(progPin(topo, tcxNames(a).prog))
    const s = withIds(a, made.prog_id, pin?.name ?? '', pin?.tag)
    s.tcxPosition = pos
    s.linkId = made.link_id
    s.progPin = progPin(topo, tcxNames(a).prog)
    s.linkPin = `${topo.bpffs}/lab/links/${tcxNames(a).link}`
    return s
  })

  const tailCalls: LabTailCallState[] = topo.tailCalls.map((t) => {
    const pinPath = progPin(topo, `${t.node}-${t.pod}-${t.function}`)
    const pin = pins.get(pinPath)
    if (!pin?.id || calls.get(t.slot) !== pin.id) throw new LabError('read back', `read back: ${CALLS_MAP_NAME}[${t.slot}] does not hold ${pinPath}`)
    return {...t, progId: pin.id, progName: pin.name ?? '', progPin: pinPath}
  })

  const devices: LabDeviceState[] = []
  for (const ns of topo.namespaces) {
    const node = topo.nodes.find((n) => n.netns === ns)
    const pod = topo.pods.find((p) => p.netns === ns)
    for (const l of links.get(ns) ?? []) {
      if (l.ifname === 'lo') continue
      const d: LabDeviceState = {
        netns: ns,
        name: l.ifname,
        ifindex: l.ifindex,
        mac: l.address ?? '',
        kind: l.linkinfo?.info_kind ?? 'unknown',
        mtu: l.mtu ?? 0,
        addresses: (l.addr_info ?? []).filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`),
      }
      if (node) d.node = node.name
      if (pod) d.pod = pod.name
      const peer = expectedPeer(topo, ns, l.ifname)
      if (peer) {
        d.peerIfindex = l.link_index ?? links.get(ns)?.find((x) => x.ifname === l.link)?.ifindex ?? peer.ifindex
        d.peerNetns = peer.netns
      }
      devices.push(d)
    }
  }
  checkDevices(topo, devices)

  const state: LabState = {
    version: LAB_STATE_VERSION,
    prefix: topo.prefix,
    createdAt: new Date().toISOString(),
    upMs: 0,
    stateDir: topo.stateDir,
    statePath: topo.statePath,
    bpffs: topo.bpffs,
    flowMapPin: topo.flowMapPin,
    helper,
    namespaces: topo.namespaces,
    nodes: topo.nodes.map(({devices: devs, ...n}) => ({...n, devices: Object.values(devs).map((d) => d.name)})),
    pods: topo.pods,
    devices,
    attachments,
    tailCalls,
    processes,
    objects: plan.map((p) => ({node: p.node, object: p.object, source: `lab/bpf/${p.source}`, defines: p.defines, path: p.path})),
  }
  state.upMs = Math.round(performance.now() - started)
  step('state')
  writeLabState(state)
  return state
}

function withIds(a: ExpectedAttachment, progId: number, progName: string, tag?: string): LabAttachmentState {
  const s: LabAttachmentState = {...a, progId, progName}
  if (tag !== undefined) s.tag = tag
  return s
}

/** The other end of a veth the lab created, from the topology. */
function expectedPeer(topo: LabTopology, netns: string, name: string): {netns: string; ifindex: number} | undefined {
  const node = topo.nodes.find((n) => n.netns === netns)
  if (node) {
    const dev = Object.values(node.devices).find((d) => d.name === name)
    if (dev?.peer) return {netns: dev.peer.netns, ifindex: dev.peer.ifindex}
    const pod = topo.pods.find((p) => p.node === node.name && p.lxc.name === name)
    if (pod) return {netns: pod.netns, ifindex: pod.eth0.ifindex}
    return undefined
  }
  const pod = topo.pods.find((p) => p.netns === netns)
  if (pod && name === 'eth0') return {netns: topo.nodes.find((n) => n.name === pod.node)!.netns, ifindex: pod.lxc.ifindex}
  return undefined
}

/** The ifindexes and MACs must be exactly the topology's: later features rely on them. */
function checkDevices(topo: LabTopology, devices: LabDeviceState[]): void {
  const want: Array<{netns: string; name: string; ifindex: number; mac: string}> = []
  for (const n of topo.nodes) for (const d of Object.values(n.devices)) want.push({netns: n.netns, name: d.name, ifindex: d.ifindex, mac: d.mac})
  for (const p of topo.pods) {
    want.push({netns: topo.nodes.find((n) => n.name === p.node)!.netns, name: p.lxc.name, ifindex: p.lxc.ifindex, mac: p.lxc.mac})
    want.push({netns: p.netns, name: 'eth0', ifindex: p.eth0.ifindex, mac: p.eth0.mac})
  }
  for (const w of want) {
    const d = devices.find((x) => x.netns === w.netns && x.name === w.name)
    if (!d || d.ifindex !== w.ifindex || d.mac !== w.mac) {
      throw new LabError('read back', `read back: ${w.netns} ${w.name} is ${d ? `ifindex ${d.ifindex} ${d.mac}` : 'missing'}, expected ifindex ${w.ifindex} ${w.mac}`)
    }
  }
}

/** tc -j filter show, one `tc -batch` per node: key node/dev/kind -> filters with options. */
async function readTc(topo: LabTopology): Promise<Map<string, TcFilterJson[]>> {
  const out = new Map<string, TcFilterJson[]>()
  await Promise.all(
    topo.nodes.map(async (node) => {
      const atts = topo.attachments.filter((a) => a.node === node.name && a.via === 'tc')
      const lines = atts.map((a) => `filter show dev ${a.devname} ${a.kind === 'clsact/ingress' ? 'ingress' : 'egress'}`)
      const r = await labRun(`read back tc (${node.name})`, ['tc', '-j', '-batch', '-'], {netns: node.netns, input: lines.join('\n') + '\n'})
      const docs = splitJsonValues(r.stdout)
      if (docs.length !== lines.length) throw new LabError('read back', `read back: tc printed ${docs.length} JSON documents for ${lines.length} commands`)
      atts.forEach((a, i) => out.set(`${a.node}/${a.devname}/${a.kind}`, (docs[i] as TcFilterJson[]).filter((f) => f.options)))
    }),
  )
  return out
}

/** ip -j -d addr show in every lab netns: devices, addresses, XDP. */
async function readLinks(topo: LabTopology): Promise<Map<string, IpLinkJson[]>> {
  const out = new Map<string, IpLinkJson[]>()
  await Promise.all(
    topo.namespaces.map(async (ns) => {
      const r = await labRun(`read back links (${ns})`, ['ip', '-n', ns, '-j', '-d', 'addr', 'show'])
      out.set(ns, parseJsonOr<IpLinkJson[]>('read back', r.stdout))
    }),
  )
  return out
}

/** nodeinspect-bpf query in each node: the tcx chains as the kernel reports them. */
async function readTcx(topo: LabTopology, helper: string): Promise<Map<string, HelperQuery>> {
  const out = new Map<string, HelperQuery>()
  await Promise.all(
    topo.nodes.map(async (node) => {
      const r = await labRun(`read back tcx (${node.name})`, [helper, 'query'], {netns: node.netns})
      out.set(node.name, parseJsonOr<HelperQuery>('read back', r.stdout))
    }),
  )
  return out
}

interface PinnedProg {
  id?: number
  name?: string
  tag?: string
}

/** bpftool -j batch: every pinned lab program (by pin path), and the prog array's slot -> prog id. */
async function readPins(topo: LabTopology): Promise<{pins: Map<string, PinnedProg>; calls: Map<number, number>}> {
  const pins = [
    ...topo.attachments.filter((a) => a.via === 'tcx').map((a) => progPin(topo, tcxNames(a).prog)),
    ...topo.tailCalls.map((t) => progPin(topo, `${t.node}-${t.pod}-${t.function}`)),
  ]
  const lines = [...pins.map((p) => `prog show pinned ${p}`), `map dump pinned ${topo.globalsDir}/${CALLS_MAP_NAME}`]
  const r = await labRun('read back pins', ['bpftool', '-j', 'batch', 'file', '-'], {input: lines.join('\n') + '\n'})
  const docs = (splitJsonValues(r.stdout)[0] ?? []) as Array<{output?: unknown}>
  const out = new Map<string, PinnedProg>()
  pins.forEach((p, i) => out.set(p, (docs[i]?.output ?? {}) as PinnedProg))
  const calls = new Map<number, number>()
  for (const e of (docs[pins.length]?.output ?? []) as Array<{key?: string[]; value?: string[]}>) {
    const num = (b?: string[]) => (b ?? []).reduce((acc, h, i) => acc + Number.parseInt(h, 16) * 2 ** (8 * i), 0)
    calls.set(num(e.key), num(e.value))
  }
  return {pins: out, calls}
}
