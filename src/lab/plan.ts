/**
 * What `lab up` will make, as pure data from the topology: the namespaces, their sysctls, links, addresses and
 * routes (`ip -batch` lines), the netfilter rules and ip rules, the bpffs directories, the maps, the BPF objects
 * and where each program attaches, and the listeners, in the order up.ts carries them out. Nothing here runs a
 * tool; verify.ts checks a lab that is up against the same plan.
 */
import {join} from 'node:path'
import {bpfObjectPlan, objectPath, type BpfObjectSpec} from './bpf-objects.js'
import {ciliumMapsBatch, hexLe32} from './cilium-map-bytes.js'
import {CILIUM_CALL_POLICY, CILIUM_IPCACHE, CILIUM_LXC, CILIUM_TUNNEL_MAP, type LabCiliumMapName} from './cilium-maps.js'
import type {LabRunOptions} from './exec.js'
import {COLLIDE_MARK_OR, COLLIDE_MARK_OR_OBJECT, iptablesRestoreInput, labNetfilterPlan, type LabNetfilterPlan, type LabVariant} from './netfilter.js'
import {FLOW_KEY_SIZE, FLOW_VALUE_SIZE} from './recording.js'
import {FLOW_MAP_MAX_ENTRIES, FLOW_MAP_NAME, type ExpectedAttachment, type ExpectedTailCall, type LabNode, type LabPod, type LabTopology, type NodeName} from './topology.js'

/** One tool run of the plan: labRun(step, argv, options). */
export interface LabPlanCommand extends LabRunOptions {
  step: string
  argv: string[]
}

/** A tcx attachment: nodeinspect-bpf's arguments (up.ts puts the helper's path in front). */
interface LabTcxAttach {
  attachment: ExpectedAttachment
  helperArgs: string[]
}

/** One listener lab/httpd.mjs starts (inside its netns), with the files it writes. */
export interface LabListenerSpec {
  name: string
  netns: string
  host: string
  port: number
  pidfile: string
  peerLog: string
}

export interface LabPlanOptions {
  /** Extra clang defines for every lab object, e.g. ['-DNI_MARK_OR=0x200'] (see lab/bpf/nilab.h). */
  bpfDefines?: string[]
  /** The collide variant (src/lab/netfilter.ts): node 1's from-container object also gets -DNI_MARK_OR. */
  collide?: boolean
}

export interface LabPlan {
  topo: LabTopology
  variant: LabVariant
  netfilter: LabNetfilterPlan
  /** The define of the collide variant's eBPF mark writer (`-DNI_MARK_OR=0x800`). */
  markOrDefine: string
  objects: BpfObjectSpec[]
  /** `ip netns add` for every namespace, in one batch. */
  namespaces: LabPlanCommand
  /** One per namespace, run together. */
  sysctls: LabPlanCommand[]
  /** Per node, in order: its links, addresses and routes, then the VXLAN default destination. */
  links: Array<{node: NodeName; commands: LabPlanCommand[]}>
  /** Pod and external networks, run together. */
  podNetworks: LabPlanCommand[]
  /** Per node, in order: iptables-restore, then the ip rules and routes; nodes run together. */
  rules: LabPlanCommand[][]
  mountBpffs: LabPlanCommand
  bpffsDirs: string[]
  maps: LabPlanCommand
  /** Per node: the tc clsact filters (`tc -batch`, TC_BPF_MNT = the node's bpffs). */
  tc: Array<{node: NodeName; command: LabPlanCommand}>
  xdp: Array<{node: NodeName; command: LabPlanCommand}>
  /** bpftool: the tcx and tail-call programs, and the tail calls put in place. */
  bpftool: LabPlanCommand
  tcx: LabTcxAttach[]
  listeners: LabListenerSpec[]
}

const batchInput = (lines: readonly string[]) => lines.join('\n') + '\n'

export function labPlan(topo: LabTopology, opts: LabPlanOptions = {}): LabPlan {
  const variant: LabVariant = opts.collide ? 'collide' : 'base'
  const netfilter = labNetfilterPlan(topo, variant)
  const markOrDefine = `-DNI_MARK_OR=0x${COLLIDE_MARK_OR.toString(16)}`
  const objects = bpfObjectPlan(topo, opts.bpfDefines, opts.collide ? [{...COLLIDE_MARK_OR_OBJECT, defines: [markOrDefine]}] : [])
  // tc/ip's libbpf loader looks for LIBBPF_PIN_BY_NAME maps under $TC_BPF_MNT/tc/globals: the node's own
  // directory, where the maps step pinned the node's Cilium maps and the shared nilab_flows.
  const envOf = (node: NodeName) => ({TC_BPF_MNT: topo.nodes.find((n) => n.name === node)!.bpfMnt})
  return {
    topo,
    variant,
    netfilter,
    markOrDefine,
    objects,
    namespaces: {step: 'namespaces', argv: ['ip', '-batch', '-'], input: batchInput(topo.namespaces.map((n) => `netns add ${n}`))},
    sysctls: topo.namespaces.map((ns) => ({step: `sysctls (${ns})`, argv: ['sysctl', '-q', '-e', '-w', ...netnsSysctls(topo.nodes.some((n) => n.netns === ns))], netns: ns})),
    links: topo.nodes.map((node) => ({
      node: node.name,
      commands: [
        {step: `links (${node.name})`, argv: ['ip', '-n', node.netns, '-batch', '-'], input: batchInput(nodeIpBatch(topo, node))},
        // The VXLAN default destination: all-zero MAC -> the other node's underlay IP.
        {step: `vxlan fdb (${node.name})`, argv: ['bridge', '-n', node.netns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'cilium_vxlan', 'dst', node.vxlan.remote]},
      ],
    })),
    podNetworks: [
      ...topo.pods.map((p) => ({step: `pod network (${p.name})`, argv: ['ip', '-n', p.netns, '-batch', '-'], input: batchInput(podIpBatch(p))})),
      {step: 'ext network', argv: ['ip', '-n', topo.ext.netns, '-batch', '-'], input: batchInput(extIpBatch(topo))},
    ],
    rules: topo.nodes.map((node) => {
      const out: LabPlanCommand[] = []
      const input = iptablesRestoreInput(netfilter.rules, node.name)
      if (input) out.push({step: `iptables (${node.name})`, argv: ['iptables-restore', '--noflush'], netns: node.netns, input})
      const ip = netfilter.ip.filter((c) => c.node === node.name).map((c) => c.command)
      if (ip.length) out.push({step: `ip rules (${node.name})`, argv: ['ip', '-n', node.netns, '-batch', '-'], input: batchInput(ip)})
      return out
    }),
    mountBpffs: {step: 'bpffs', argv: ['mount', '-t', 'bpf', 'bpf', topo.bpffs]},
    bpffsDirs: labBpffsDirs(topo),
    maps: {step: 'maps', argv: ['bpftool', 'batch', 'file', '-'], input: batchInput(mapsBatch(topo))},
    tc: topo.nodes.map((node) => ({node: node.name, command: {step: `tc attach (${node.name})`, argv: ['tc', '-batch', '-'], netns: node.netns, env: envOf(node.name), input: batchInput(nodeTcBatch(topo, node))}})),
    xdp: topo.attachments
      .filter((x) => x.via === 'xdp')
      .map((a) => ({node: a.node, command: {step: `xdp attach (${a.node} ${a.devname})`, argv: ['ip', 'link', 'set', 'dev', a.devname, 'xdpdrv', 'obj', objectPath(topo, a.node, a.object), 'sec', a.section], netns: a.netns, env: envOf(a.node)}})),
    bpftool: {step: 'bpftool load', argv: ['bpftool', 'batch', 'file', '-'], input: batchInput(bpftoolBatch(topo))},
    tcx: topo.attachments
      .filter((x) => x.via === 'tcx')
      .map((a) => ({
        attachment: a,
        helperArgs: ['tcx-attach', '--prog-pin', tcxProgPin(topo, a), '--dev', a.devname, '--dir', a.kind === 'tcx/ingress' ? 'ingress' : 'egress', '--link-pin', tcxLinkPin(topo, a), a.tcxPosition === 0 ? '--first' : '--last'],
      })),
    listeners: listenerSpecs(topo),
  }
}

/** `ip -batch` lines for one node netns (node1 also creates the underlay pair whose other end goes to node2). */
function nodeIpBatch(topo: LabTopology, node: LabNode): string[] {
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

function podIpBatch(pod: LabPod): string[] {
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
function extIpBatch(topo: LabTopology): string[] {
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
function nodeTcBatch(topo: LabTopology, node: LabNode): string[] {
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

/** Where `lab up` pins a tcx program (bpftool prog load). */
export function tcxProgPin(topo: LabTopology, a: ExpectedAttachment): string {
  return progPin(topo, `${a.node}-${a.devname}-${a.function}`)
}

/** Where nodeinspect-bpf pins a tcx program's link. */
export function tcxLinkPin(topo: LabTopology, a: ExpectedAttachment): string {
  return `${topo.bpffs}/lab/links/${a.node}-${a.devname}-tcx-${a.kind === 'tcx/ingress' ? 'ingress' : 'egress'}`
}

/** Where `lab up` pins a to-container program before it goes into cilium_call_policy. */
export function tailCallProgPin(topo: LabTopology, t: ExpectedTailCall): string {
  return progPin(topo, `${t.node}-${t.pod}-${t.function}`)
}

/** Where a node's tc/ip loads (TC_BPF_MNT=node.bpfMnt) look for a pinned map. */
function nodePin(node: LabNode, name: string): string {
  return `${node.bpfMnt}/tc/globals/${name}`
}

function ciliumPin(topo: LabTopology, node: NodeName, name: LabCiliumMapName): string {
  return topo.cilium.find((c) => c.node === node)!.maps.find((m) => m.name === name)!.pin
}

/** Directories `lab up` creates in its bpffs before any map or program is pinned (bpftool 7.1 does not create them). */
function labBpffsDirs(topo: LabTopology): string[] {
  return [`${topo.bpffs}/lab/progs`, `${topo.bpffs}/lab/links`, topo.globalsDir, ...topo.nodes.map((n) => `${n.bpfMnt}/tc/globals`)]
}

/**
 * bpftool batch, before any program loads: nilab_flows (one map, pinned where the lab reads it and in each node's
 * tc/globals), then each node's Cilium maps, created without BTF like Cilium 1.12's, and filled. tc/ip loads then
 * reuse these pins (libbpf LIBBPF_PIN_BY_NAME), so each node's programs use that node's maps.
 */
function mapsBatch(topo: LabTopology): string[] {
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
function bpftoolBatch(topo: LabTopology): string[] {
  const flows = `map name ${FLOW_MAP_NAME} pinned ${topo.flowMapPin}`
  const lines: string[] = []
  for (const a of topo.attachments.filter((x) => x.via === 'tcx')) {
    const cilium = a.hook === 'from-container' ? ([CILIUM_IPCACHE, CILIUM_TUNNEL_MAP, CILIUM_LXC, CILIUM_CALL_POLICY] as const).map((m) => `map name ${m} pinned ${ciliumPin(topo, a.node, m)} `).join('') : ''
    lines.push(`prog load ${objectPath(topo, a.node, a.object)} ${tcxProgPin(topo, a)} type classifier ${cilium}${flows}`)
  }
  for (const t of topo.tailCalls) {
    lines.push(`prog load ${objectPath(topo, t.node, t.object)} ${tailCallProgPin(topo, t)} type classifier ${flows}`)
  }
  for (const t of topo.tailCalls) {
    lines.push(`map update pinned ${ciliumPin(topo, t.node, CILIUM_CALL_POLICY)} key hex ${hexLe32(t.slot)} value pinned ${tailCallProgPin(topo, t)}`)
  }
  return lines
}

/**
 * The listeners of the pods that have one and of the external namespace: one `lab/httpd.mjs daemons` process
 * starts them all (up.ts), each inside its own netns.
 */
function listenerSpecs(topo: LabTopology): LabListenerSpec[] {
  return [...topo.pods.filter((x) => x.listener).map((p) => ({name: p.name, netns: p.netns, host: p.ip, port: p.listener!.port})), {name: topo.ext.name, netns: topo.ext.netns, host: topo.ext.ip, port: topo.ext.listener.port}].map((l) => ({
    ...l,
    pidfile: join(topo.stateDir, `${l.name}-httpd.pid`),
    peerLog: join(topo.stateDir, `${l.name}-peers.jsonl`),
  }))
}
