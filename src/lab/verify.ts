/**
 * Checks a lab that `lab up` just built against its plan, by reading everything back from the kernel (tc, ip,
 * nodeinspect-bpf query, bpftool, iptables-save, ip rule): every attachment with the ids the kernel gave it, the
 * tail calls, the devices with their ifindexes and MACs, the Cilium maps entry for entry, the netfilter rules as
 * iptables-save prints them. Throws a LabError (step 'read back') at the first thing that differs.
 */
import {expectedCiliumEntries} from './cilium-map-bytes.js'
import {deviceBasics, type IpDeviceJson} from './device-read-back.js'
import {CILIUM_CALL_POLICY, type LabCiliumMapName} from './cilium-maps.js'
import {LabError, labRun, parseLabJson, splitJsonValues} from './exec.js'
import {COLLIDE_MARK_OR, COLLIDE_MARK_OR_OBJECT, type LabNetfilterPlan, type LabXtRule, pairSavedRules} from './netfilter.js'
import {type LabPlan, tailCallProgPin, tcxLinkPin, tcxProgPin} from './plan.js'
import type {LabAttachmentState, LabCiliumMapState, LabCollideState, LabDeviceState, LabState, LabTailCallState, LabXtRuleState} from './state.js'
import type {ExpectedAttachment, LabTopology, NodeName} from './topology.js'

/** What nodeinspect-bpf tcx-attach printed for one tcx attachment. */
export interface TcxAttachResult {
  prog_id: number
  link_id: number
  ifindex: number
}

/** The parts of the state file that come from reading the lab back. */
export type LabReadBack = Pick<LabState, 'attachments' | 'tailCalls' | 'ciliumMaps' | 'devices' | 'netfilter' | 'collide'>

interface TcFilterJson {
  options?: {bpf_name?: string; prog?: {id?: number; name?: string; tag?: string}}
}
interface IpLinkJson extends IpDeviceJson {
  mtu?: number
  link?: string
  link_index?: number
  xdp?: {mode?: number; prog?: {id?: number; name?: string; tag?: string}}
}
interface HelperQuery {
  attachments?: Array<{ifindex: number; devname: string; attach_type: string; progs: Array<{prog_id: number; link_id: number}>}>
  error?: string
}

export async function verifyLab(plan: LabPlan, helper: string, tcxResults: ReadonlyMap<ExpectedAttachment, TcxAttachResult>): Promise<LabReadBack> {
  const {topo} = plan
  const [tc, links, queries, {pins, calls, ciliumMaps}, netfilter] = await Promise.all([readTc(topo), readLinks(topo), readTcx(topo, helper), readPins(topo), readNetfilter(topo, plan.netfilter)])

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
    const pin = pins.get(tcxProgPin(topo, a))
    const s = withIds(a, made.prog_id, pin?.name ?? '', pin?.tag)
    s.tcxPosition = pos
    s.linkId = made.link_id
    s.progPin = tcxProgPin(topo, a)
    s.linkPin = tcxLinkPin(topo, a)
    return s
  })

  const tailCalls: LabTailCallState[] = topo.tailCalls.map((t) => {
    const pinPath = tailCallProgPin(topo, t)
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
      const d: LabDeviceState = {...deviceBasics(ns, l), mtu: l.mtu ?? 0}
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

  const collide = plan.variant === 'collide' ? collideState(plan, attachments) : undefined
  return {attachments, tailCalls, ciliumMaps, devices, netfilter, ...(collide ? {collide} : {})}
}

/** The collide variant's ground truth: the owners it added and the attachment of the program that ORs the mark. */
function collideState(plan: LabPlan, attachments: readonly LabAttachmentState[]): LabCollideState {
  const a = attachments.find((x) => x.node === COLLIDE_MARK_OR_OBJECT.node && x.object === COLLIDE_MARK_OR_OBJECT.object)
  if (!a) throw new LabError('read back', `read back: no attachment of ${COLLIDE_MARK_OR_OBJECT.object} on ${COLLIDE_MARK_OR_OBJECT.node}`)
  const dir = a.kind.endsWith('ingress') ? 'ingress' : 'egress'
  return {
    node: 'node1',
    owners: [...new Set(plan.netfilter.rules.filter((r) => r.variant === 'collide').map((r) => r.owner))],
    markOr: {
      value: COLLIDE_MARK_OR,
      hex: `0x${COLLIDE_MARK_OR.toString(16)}`,
      define: plan.markOrDefine,
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
      out.set(ns, parseLabJson<IpLinkJson[]>('read back', r.stdout))
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
      out.set(node.name, parseLabJson<HelperQuery>('read back', r.stdout))
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
  const pins = [...topo.attachments.filter((a) => a.via === 'tcx').map((a) => tcxProgPin(topo, a)), ...topo.tailCalls.map((t) => tailCallProgPin(topo, t))]
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
      const want = expectedCiliumEntries(topo.cilium.find((c) => c.node === m.node)!, m.name as Exclude<LabCiliumMapName, typeof CILIUM_CALL_POLICY>)
      const have = new Set(dump.map((e) => `${bytesHex(e.key)} => ${bytesHex(e.value)}`))
      const missing = want.filter((w) => !have.has(`${w.key} => ${w.value}`))
      if (missing.length > 0 || dump.length !== want.length) throw new LabError('read back', `read back: ${what} holds ${dump.length} entries, expected ${want.length}${missing[0] ? `; missing ${missing[0].key} => ${missing[0].value}` : ''}`)
    }
    ciliumMaps.push({node: m.node, name: m.name, pin: m.pin, id: show.id, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, entries: dump.length})
  })
  return {pins: out, calls, ciliumMaps}
}
