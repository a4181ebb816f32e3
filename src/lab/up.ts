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
import {CILIUM_CALL_POLICY, CILIUM_IPCACHE, CILIUM_LXC, CILIUM_TUNNEL_MAP, ciliumMapsBatch, expectedCiliumEntries, hexLe32, type LabCiliumMapName} from './cilium-maps.js'
import {COLLIDE_MARK_OR, COLLIDE_MARK_OR_OBJECT, iptablesRestoreInput, labNetfilterPlan, pairSavedRules, type LabNetfilterPlan, type LabVariant, type LabXtRule} from './netfilter.js'
import {LAB_STATE_VERSION, writeLabState, type LabAttachmentState, type LabCiliumMapState, type LabCollideState, type LabDeviceState, type LabProcessState, type LabState, type LabTailCallState, type LabXtRuleState} from './state.js'
import {acquireLabLock} from './lock.js'
import {labStatus} from './status.js'
import {LAB_OWNER_ENV, labDownLocked} from './teardown.js'
import {FLOW_MAP_MAX_ENTRIES, FLOW_MAP_NAME, labTopology, type ExpectedAttachment, type LabNode, type LabPod, type LabTopology, type NodeName} from './topology.js'
import {FLOW_KEY_SIZE, FLOW_VALUE_SIZE} from './recording.js'
import {UserError} from '../errors.js'

export interface LabUpOptions {
  prefix: string
  /** Extra clang defines for every lab object, e.g. ['-DNI_MARK_OR=0x200'] (see lab/bpf/nilab.h). */
  bpfDefines?: string[]
  /**
   * The collide variant: node 1 also gets the marks of owners that collide (Cilium's mangle/filter rules and ip
   * rule, Istio's whole-mark writer and nibble match: src/lab/netfilter.ts) and its from-container program ORs
   * 0x800 into the mark (-DNI_MARK_OR on that one object).
   */
  collide?: boolean
  /** Tear down and rebuild a lab of this prefix that is up; without it, `lab up` refuses a running lab. */
  rebuild?: boolean
  /** Called before each step (for progress output). */
  onStep?: (step: string) => void
}

/** `ip -batch` lines for one node netns (node1 also creates the underlay pair whose other end goes to node2). */
export function nodeIpBatch(topo: LabTopology, node: LabNode): string[] {
  const other = topo.nodes.find((n) => n.name !== node.name)!
  const {eth0, cilium_net, cilium_host, cilium_vxlan, eth1} = node.devices
  const pods = topo.pods.filter((p) => p.node === node.name)
  const lines: string[] = []
  if (node.name === topo.nodes[0]!.name) {
    // First, so that eth0 is ifindex 2 in both nodes.
    lines.push(`link add eth0 index ${eth0.ifindex} address ${eth0.mac} type veth peer name eth0 index ${other.devices.eth0.ifindex} address ${other.devices.eth0.mac} netns ${other.netns}`)
  }
  // The link to the external namespace: eth1 here, eth0 there.
  if (eth1?.peer) lines.push(`link add ${eth1.name} index ${eth1.ifindex} address ${eth1.mac} type veth peer name ${eth1.peer.name} index ${eth1.peer.ifindex} address ${topo.ext.eth0.mac} netns ${eth1.peer.netns}`)
  lines.push(`link add cilium_net index ${cilium_net.ifindex} address ${cilium_net.mac} type veth peer name cilium_host index ${cilium_host.ifindex} address ${cilium_host.mac}`)
  lines.push(
    `link add cilium_vxlan index ${cilium_vxlan.ifindex} address ${cilium_vxlan.mac} type vxlan id ${node.vxlan.vni} dstport ${node.vxlan.dstport} local ${node.vxlan.local} dev ${node.vxlan.dev} nolearning`,
  )
  for (const p of pods) {
    lines.push(`link add ${p.lxc.name} index ${p.lxc.ifindex} address ${p.lxc.mac} type veth peer name eth0 index ${p.eth0.ifindex} address ${p.eth0.mac} netns ${p.netns}`)
  }
  for (const a of eth0.addresses) lines.push(`addr add ${a} dev eth0`)
  for (const a of eth1?.addresses ?? []) lines.push(`addr add ${a} dev ${eth1!.name}`)
  for (const a of cilium_host.addresses) lines.push(`addr add ${a} dev cilium_host`)
  for (const d of ['lo', 'eth0', ...(eth1 ? [eth1.name] : []), 'cilium_net', 'cilium_host', 'cilium_vxlan', ...pods.map((p) => p.lxc.name)]) lines.push(`link set dev ${d} up`)
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

/**
 * The external namespace: its address on the link to node 1 and nothing else. No route to the pod CIDR: a pod
 * reaches it (and gets answers) only masqueraded behind node 1's eth1 address.
 */
export function extIpBatch(topo: LabTopology): string[] {
  return ['link set dev lo up', `addr add ${topo.ext.ip}/${topo.ext.prefixLen} dev eth0`, 'link set dev eth0 up']
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

/** Where a node's tc/ip loads (TC_BPF_MNT=node.bpfMnt) look for a pinned map. */
function nodePin(node: LabNode, name: string): string {
  return `${node.bpfMnt}/tc/globals/${name}`
}

function ciliumPin(topo: LabTopology, node: NodeName, name: LabCiliumMapName): string {
  return topo.cilium.find((c) => c.node === node)!.maps.find((m) => m.name === name)!.pin
}

/** Directories `lab up` creates in its bpffs before any map or program is pinned (bpftool 7.1 does not create them). */
export function labBpffsDirs(topo: LabTopology): string[] {
  return [`${topo.bpffs}/lab/progs`, `${topo.bpffs}/lab/links`, topo.globalsDir, ...topo.nodes.map((n) => `${n.bpfMnt}/tc/globals`)]
}

/**
 * bpftool batch, before any program loads: nilab_flows (one map, pinned where the lab reads it and in each node's
 * tc/globals), then each node's Cilium maps, created without BTF like Cilium 1.12's, and filled. tc/ip loads then
 * reuse these pins (libbpf LIBBPF_PIN_BY_NAME), so each node's programs use that node's maps.
 */
export function mapsBatch(topo: LabTopology): string[] {
  const lines = [`map create ${topo.flowMapPin} type hash key ${FLOW_KEY_SIZE} value ${FLOW_VALUE_SIZE} entries ${FLOW_MAP_MAX_ENTRIES} name ${FLOW_MAP_NAME}`]
  for (const n of topo.nodes) lines.push(`map pin pinned ${topo.flowMapPin} ${nodePin(n, FLOW_MAP_NAME)}`)
  for (const c of topo.cilium) lines.push(...ciliumMapsBatch(c))
  return lines
}

/**
 * bpftool batch: load the tcx and tail-call programs with their maps replaced by the pinned ones (the node's
 * Cilium maps, the shared nilab_flows last), then put each endpoint's to-container program into its node's
 * cilium_call_policy at the endpoint id.
 */
export function bpftoolBatch(topo: LabTopology): string[] {
  const flows = `map name ${FLOW_MAP_NAME} pinned ${topo.flowMapPin}`
  const lines: string[] = []
  for (const a of topo.attachments.filter((x) => x.via === 'tcx')) {
    const cilium = a.hook === 'from-container' ? ([CILIUM_IPCACHE, CILIUM_TUNNEL_MAP, CILIUM_LXC, CILIUM_CALL_POLICY] as const).map((m) => `map name ${m} pinned ${ciliumPin(topo, a.node, m)} `).join('') : ''
    lines.push(`prog load ${objectPath(topo, a.node, a.object)} ${progPin(topo, tcxNames(a).prog)} type classifier ${cilium}${flows}`)
  }
  for (const t of topo.tailCalls) {
    lines.push(`prog load ${objectPath(topo, t.node, t.object)} ${progPin(topo, tailCallPin(t))} type classifier ${flows}`)
  }
  for (const t of topo.tailCalls) {
    lines.push(`map update pinned ${ciliumPin(topo, t.node, CILIUM_CALL_POLICY)} key hex ${hexLe32(t.slot)} value pinned ${progPin(topo, tailCallPin(t))}`)
  }
  return lines
}

function tailCallPin(t: {node: string; pod: string; function: string}): string {
  return `${t.node}-${t.pod}-${t.function}`
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

  const release = acquireLabLock(topo.prefix, 'up')
  // Every process this run starts (compilers, ip, tc, the listeners and their children) inherits the owner mark,
  // so `lab down` finds the ones a killed `lab up` orphaned, wherever they are.
  const ownerBefore = process.env[LAB_OWNER_ENV]
  process.env[LAB_OWNER_ENV] = topo.prefix
  try {
    // A healthy lab is not rebuilt behind its user's back; leftovers of a broken or unfinished one are.
    const current = labStatus(topo.prefix)
    if (current.up && !opts.rebuild)
      throw new UserError(`lab up: lab ${topo.prefix} is already up (since ${current.state.createdAt}, variant ${current.state.variant}); use --rebuild to build it anew, or \`lab down\` first`)

    step('teardown leftovers')
    await labDownLocked(topo.prefix)

    try {
      return await build(topo, helper, opts, step, started)
    } catch (e) {
      const err = e instanceof LabError || e instanceof UserError ? e : new LabError('unexpected', `unexpected: ${(e as Error).message}`)
      try {
        await labDownLocked(topo.prefix)
      } catch (down) {
        throw new LabError(err instanceof LabError ? err.step : 'unexpected', `${err.message}; teardown also failed: ${(down as Error).message}`)
      }
      throw err
    }
  } finally {
    if (ownerBefore === undefined) delete process.env[LAB_OWNER_ENV]
    else process.env[LAB_OWNER_ENV] = ownerBefore
    release()
  }
}

async function build(topo: LabTopology, helper: string, opts: LabUpOptions, step: (s: string) => void, started: number): Promise<LabState> {
  mkdirSync(topo.stateDir, {recursive: true, mode: 0o755})

  const variant: LabVariant = opts.collide ? 'collide' : 'base'
  const nf = labNetfilterPlan(topo, variant)
  const markOrDefine = `-DNI_MARK_OR=0x${COLLIDE_MARK_OR.toString(16)}`
  // Compile in the background while the namespaces are built.
  const plan = bpfObjectPlan(topo, opts.bpfDefines, opts.collide ? [{...COLLIDE_MARK_OR_OBJECT, defines: [markOrDefine]}] : [])
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
  step('pods, ext, rules')
  await Promise.all([
    ...topo.pods.map((p) => labRun(`pod network (${p.name})`, ['ip', '-n', p.netns, '-batch', '-'], {input: podIpBatch(p).join('\n') + '\n'})),
    labRun('ext network', ['ip', '-n', topo.ext.netns, '-batch', '-'], {input: extIpBatch(topo).join('\n') + '\n'}),
    ...topo.nodes.map(async (node) => {
      const input = iptablesRestoreInput(nf.rules, node.name)
      if (input) await labRun(`iptables (${node.name})`, ['iptables-restore', '--noflush'], {netns: node.netns, input})
      const ip = nf.ip.filter((c) => c.node === node.name).map((c) => c.command)
      if (ip.length) await labRun(`ip rules (${node.name})`, ['ip', '-n', node.netns, '-batch', '-'], {input: ip.join('\n') + '\n'})
    }),
  ])

  // The listeners only need the pod network: start them now, in the background (awaited before the read back).
  const listening = startListeners(topo)
  listening.catch(() => undefined)

  step('bpffs')
  mkdirSync(topo.bpffs, {recursive: true})
  await labRun('bpffs', ['mount', '-t', 'bpf', 'bpf', topo.bpffs])
  for (const d of labBpffsDirs(topo)) mkdirSync(d, {recursive: true})

  step('maps')
  await labRun('maps', ['bpftool', 'batch', 'file', '-'], {input: mapsBatch(topo).join('\n') + '\n'})

  step('compile')
  await compiled

  // tc/ip's libbpf loader looks for LIBBPF_PIN_BY_NAME maps under $TC_BPF_MNT/tc/globals: the node's own
  // directory, where the maps step pinned the node's Cilium maps and the shared nilab_flows.
  const envOf = (node: NodeName) => ({TC_BPF_MNT: topo.nodes.find((n) => n.name === node)!.bpfMnt})
  for (const node of topo.nodes) {
    step(`tc (${node.name})`)
    await labRun(`tc attach (${node.name})`, ['tc', '-batch', '-'], {netns: node.netns, env: envOf(node.name), input: nodeTcBatch(topo, node).join('\n') + '\n'})
  }
  for (const a of topo.attachments.filter((x) => x.via === 'xdp')) {
    step(`xdp (${a.node})`)
    await labRun(`xdp attach (${a.node} ${a.devname})`, ['ip', 'link', 'set', 'dev', a.devname, 'xdpdrv', 'obj', objectPath(topo, a.node, a.object), 'sec', a.section], {netns: a.netns, env: envOf(a.node)})
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

  step('listeners')
  const processes = await listening

  step('read back')
  const [tc, links, queries, {pins, calls, ciliumMaps}, netfilter] = await Promise.all([readTc(topo), readLinks(topo), readTcx(topo, helper), readPins(topo), readNetfilter(topo, nf)])

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
    const pinPath = progPin(topo, tailCallPin(t))
    const pin = pins.get(pinPath)
    if (!pin?.id || calls.get(t.node)?.get(t.slot) !== pin.id) throw new LabError('read back', `read back: ${t.node} ${t.map}[${t.slot}] does not hold ${pinPath}`)
    return {...t, progId: pin.id, progName: pin.name ?? '', progPin: pinPath}
  })
  for (const node of topo.nodes) {
    const slots = [...(calls.get(node.name)?.keys() ?? [])].sort((a, b) => a - b)
    const want = topo.tailCalls.filter((t) => t.node === node.name).map((t) => t.slot).sort((a, b) => a - b)
    if (slots.join() !== want.join()) throw new LabError('read back', `read back: ${node.name} ${CILIUM_CALL_POLICY} holds slots ${slots.join(', ')}, expected ${want.join(', ')}`)
  }

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

  let collide: LabCollideState | undefined
  if (opts.collide) {
    const a = attachments.find((x) => x.node === COLLIDE_MARK_OR_OBJECT.node && x.object === COLLIDE_MARK_OR_OBJECT.object)
    if (!a) throw new LabError('read back', `read back: no attachment of ${COLLIDE_MARK_OR_OBJECT.object} on ${COLLIDE_MARK_OR_OBJECT.node}`)
    const dir = a.kind.endsWith('ingress') ? 'ingress' : 'egress'
    collide = {
      node: 'node1',
      owners: [...new Set(nf.rules.filter((r) => r.variant === 'collide').map((r) => r.owner))],
      markOr: {
        value: COLLIDE_MARK_OR,
        hex: `0x${COLLIDE_MARK_OR.toString(16)}`,
        define: markOrDefine,
        node: a.node,
        object: a.object,
        devname: a.devname,
        ifindex: a.ifindex,
        kind: a.kind,
        hook: a.hook,
        progId: a.progId,
        progName: a.progName,
        marksHook: `${a.via === 'tcx' ? 'tcx' : 'tc'} ${dir} ${a.devname}`,
      },
    }
  }

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
    ciliumMaps,
    cilium: topo.cilium.map(({node, ipcache, endpoints, tunnels}) => ({node, ipcache, endpoints, tunnels})),
    processes,
    objects: plan.map((p) => ({node: p.node, object: p.object, source: `lab/bpf/${p.source}`, defines: p.defines, path: p.path})),
    variant,
    ext: topo.ext,
    services: topo.services,
    flows: topo.flows,
    netfilter,
    ...(collide ? {collide} : {}),
  }
  state.upMs = Math.round(performance.now() - started)
  step('state')
  writeLabState(state)
  return state
}

/**
 * The listeners of the pods that have one and of the external namespace: one `lab/httpd.mjs daemons` process
 * starts them all, each inside its own netns (nsenter), so `lab up` pays for one extra Node start-up, not two per
 * listener.
 */
async function startListeners(topo: LabTopology): Promise<LabProcessState[]> {
  const specs = [...topo.pods.filter((x) => x.listener).map((p) => ({name: p.name, netns: p.netns, host: p.ip, port: p.listener!.port})), {name: topo.ext.name, netns: topo.ext.netns, host: topo.ext.ip, port: topo.ext.listener.port}].map((l) => ({
    ...l,
    pidfile: join(topo.stateDir, `${l.name}-httpd.pid`),
    peerLog: join(topo.stateDir, `${l.name}-peers.jsonl`),
  }))
  const out = await labRun('listeners', [process.execPath, labAsset('httpd.mjs'), 'daemons'], {input: JSON.stringify(specs), timeoutMs: 15_000})
  const started = parseJsonOr<Array<{name: string; pid: number; listen: string}>>('listeners', out.stdout)
  return specs.map((s) => {
    const r = started.find((x) => x?.name === s.name)
    if (!r) throw new LabError('listeners', `listeners: ${s.name} did not start`)
    return {name: 'httpd', pod: s.name, netns: s.netns, pid: r.pid, listen: r.listen, pidFile: s.pidfile, peerLog: s.peerLog}
  })
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
  if (netns === topo.ext.netns && name === 'eth0') return {netns: topo.nodes.find((n) => n.name === topo.ext.node)!.netns, ifindex: topo.ext.nodeDev.ifindex}
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
  want.push({netns: topo.ext.netns, name: 'eth0', ifindex: topo.ext.eth0.ifindex, mac: topo.ext.eth0.mac})
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

/**
 * iptables-save in each node that got rules: every written rule must come back at its position (paired with the
 * line iptables-save prints, which normalises MARK's --or-mark/--xor-mark/--set-mark to --set-xmark), and no
 * chain may hold more; `ip -j rule` must show the ip rules.
 */
async function readNetfilter(topo: LabTopology, nf: LabNetfilterPlan): Promise<LabState['netfilter']> {
  const savedAll = new Map<LabXtRule, string>()
  await Promise.all(
    topo.nodes.map(async (node) => {
      if (!nf.rules.some((r) => r.node === node.name)) return
      const r = await labRun(`read back iptables (${node.name})`, ['iptables-save'], {netns: node.netns})
      const {saved, problems} = pairSavedRules(nf.rules, r.stdout, node.name)
      if (problems.length) throw new LabError('read back', `read back: ${node.name} iptables: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`)
      for (const [rule, line] of saved) savedAll.set(rule, line)
      const prefs = nf.ip.filter((c) => c.node === node.name).map((c) => /^rule add pref (\d+) /.exec(c.command)?.[1]).filter((x): x is string => !!x)
      if (prefs.length) {
        const ipr = JSON.parse((await labRun(`read back ip rules (${node.name})`, ['ip', '-n', node.netns, '-j', 'rule', 'show'])).stdout) as Array<{priority: number}>
        const missing = prefs.filter((p) => !ipr.some((x) => x.priority === Number(p)))
        if (missing.length) throw new LabError('read back', `read back: ${node.name} has no ip rule with pref ${missing.join(', ')}`)
      }
    }),
  )
  const rules: LabXtRuleState[] = nf.rules.map((r) => ({...r, saved: savedAll.get(r)!}))
  return {rules, ip: nf.ip}
}

interface PinnedProg {
  id?: number
  name?: string
  tag?: string
}

interface PinnedMap {
  id?: number
  type?: string
  name?: string
  flags?: number
  bytes_key?: number
  bytes_value?: number
  max_entries?: number
  btf_id?: number
}

type DumpEntryJson = {key?: string[]; value?: string[]}
const bytesHex = (b?: string[]) => (b ?? []).map((x) => x.replace(/^0x/, '')).join(' ')

/**
 * bpftool -j batch: every pinned lab program (by pin path); each node's Cilium maps as the kernel shows them,
 * checked against the specs and, entry for entry, against the bytes the maps step wrote; and each node's
 * cilium_call_policy as slot -> prog id.
 */
async function readPins(topo: LabTopology): Promise<{pins: Map<string, PinnedProg>; calls: Map<NodeName, Map<number, number>>; ciliumMaps: LabCiliumMapState[]}> {
  const pins = [...topo.attachments.filter((a) => a.via === 'tcx').map((a) => progPin(topo, tcxNames(a).prog)), ...topo.tailCalls.map((t) => progPin(topo, tailCallPin(t)))]
  const specs = topo.cilium.flatMap((c) => c.maps)
  const lines = [...pins.map((p) => `prog show pinned ${p}`), ...specs.flatMap((m) => [`map show pinned ${m.pin}`, `map dump pinned ${m.pin}`])]
  const r = await labRun('read back pins', ['bpftool', '-j', 'batch', 'file', '-'], {input: lines.join('\n') + '\n'})
  const docs = (splitJsonValues(r.stdout)[0] ?? []) as Array<{output?: unknown}>
  const out = new Map<string, PinnedProg>()
  pins.forEach((p, i) => out.set(p, (docs[i]?.output ?? {}) as PinnedProg))
  const calls = new Map<NodeName, Map<number, number>>()
  const ciliumMaps: LabCiliumMapState[] = []
  specs.forEach((m, i) => {
    const show = (docs[pins.length + 2 * i]?.output ?? {}) as PinnedMap
    const dump = (docs[pins.length + 2 * i + 1]?.output ?? []) as DumpEntryJson[]
    const what = `${m.node} ${m.name}`
    // The kernel keeps 15 characters of a name (cilium_tunnel_map shows as cilium_tunnel_m).
    const same = show.type === m.type && show.name === m.name.slice(0, 15) && show.bytes_key === m.keySize && show.bytes_value === m.valueSize && show.max_entries === m.maxEntries && show.flags === m.flags
    if (!show.id || !same) throw new LabError('read back', `read back: ${what} at ${m.pin} is ${JSON.stringify(show)}`)
    if (show.btf_id !== undefined) throw new LabError('read back', `read back: ${what} has BTF (id ${show.btf_id}); the lab creates it without, like Cilium 1.12`)
    if (m.name === CILIUM_CALL_POLICY) {
      const num = (b?: string[]) => (b ?? []).reduce((acc, h, j) => acc + Number.parseInt(h, 16) * 2 ** (8 * j), 0)
      calls.set(m.node, new Map(dump.map((e) => [num(e.key), num(e.value)])))
    } else {
      const want = expectedCiliumEntries(topo.cilium.find((c) => c.node === m.node)!, m.name as typeof CILIUM_IPCACHE | typeof CILIUM_LXC | typeof CILIUM_TUNNEL_MAP)
      const have = new Set(dump.map((e) => `${bytesHex(e.key)} => ${bytesHex(e.value)}`))
      const missing = want.filter((w) => !have.has(`${w.key} => ${w.value}`))
      if (missing.length > 0 || dump.length !== want.length) throw new LabError('read back', `read back: ${what} holds ${dump.length} entries, expected ${want.length}${missing[0] ? `; missing ${missing[0].key} => ${missing[0].value}` : ''}`)
    }
    ciliumMaps.push({node: m.node, name: m.name, pin: m.pin, id: show.id, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, entries: dump.length})
  })
  return {pins: out, calls, ciliumMaps}
}
