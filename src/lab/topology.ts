/**
 * The lab's topology as data: a two-node Cilium-like setup (VXLAN tunnel mode) built from network
 * namespaces, with the names, addresses, ifindexes and MACs of the reference scenario
 * (docs/scenario.md) wherever it gives them. `lab up` builds exactly this; tests and later
 * features read it instead of repeating addresses.
 */
import {createHash} from 'node:crypto'
import {UserError} from '../errors.js'
import {CILIUM_CALL_POLICY, labCiliumNode, nodeBpfMnt, type LabCiliumNode} from './cilium-maps.js'

const DEFAULT_LAB_PREFIX = 'nilab'
const LAB_PREFIX_ENV = 'NODEINSPECT_LAB_PREFIX'
/** Everything a lab owns outside its namespaces lives under LAB_RUN_ROOT/<prefix>. */
export const LAB_RUN_ROOT = '/run/nodeinspect-lab'

/** Prefixes: short, lowercase, start with a letter, no trailing dash (names become `<prefix>-node1`...). */
const LAB_PREFIX_RE = /^[a-z](?:[a-z0-9-]{0,18}[a-z0-9])?$/

const VXLAN_PORT = 8472
const VXLAN_VNI = 2
/** Name of the pinned flow-recording map (lab/bpf/nilab.h): one map for both nodes. */
export const FLOW_MAP_NAME = 'nilab_flows'
/** NI_FLOWS_MAX in lab/bpf/nilab.h. */
export const FLOW_MAP_MAX_ENTRIES = 8192

export type NodeName = 'node1' | 'node2'

/** The lab's "outside world": one namespace joined to node 1 by a veth (node 1 eth1 <-> ext eth0). */
const EXT_NAME = 'ext'

interface LabDevice {
  name: string
  ifindex: number
  mac: string
  kind: 'veth' | 'vxlan'
  /** IPv4 addresses with prefix length. */
  addresses: string[]
  /** veth: the other end, by netns (a lab netns name) and device name. */
  peer?: {netns: string; name: string; ifindex: number}
}

export interface LabNode {
  name: NodeName
  /** Compiled into every BPF object of this node (-DNI_NODE) and written into every flow key. */
  id: 1 | 2
  netns: string
  /** The scenario's host name for this node. */
  hostname: string
  underlayIp: string
  podCidr: string
  /** cilium_host's address: the pods' gateway. */
  routerIp: string
  /** eth1 only on node 1: its link to the lab's external namespace (<prefix>-ext). */
  devices: {eth0: LabDevice; cilium_net: LabDevice; cilium_host: LabDevice; cilium_vxlan: LabDevice; eth1?: LabDevice}
  vxlan: {vni: number; dstport: number; local: string; remote: string; dev: 'eth0'}
  /** TC_BPF_MNT for this node's tc/ip loads: its own Cilium maps (and nilab_flows) are pinned under tc/globals here. */
  bpfMnt: string
}

export interface LabPod {
  /** Short name (letters only), used in the netns name `<prefix>-n<node id>-<name>`. */
  name: string
  netns: string
  node: NodeName
  ip: string
  gateway: string
  eth0: {name: 'eth0'; ifindex: number; mac: string}
  lxc: {name: string; ifindex: number; mac: string}
  /** How the pod's from-container program is attached on the lxc device. */
  fromContainer: 'tc' | 'tcx'
  /** Cilium's endpoint id (lxc_id in cilium_lxc): the slot of the pod's to-container program in cilium_call_policy. */
  endpointId: number
  /** The pod's security identity in the ipcache of both nodes. */
  identity: number
  /** A real listener started in the pod (lab/httpd.mjs: HTTP on TCP and a JSON echo on UDP, same port). */
  listener?: {port: number}
}

/**
 * An address outside the cluster: the namespace <prefix>-ext, joined to node 1 by a veth (node 1 `eth1`
 * 172.31.0.1/24 <-> ext `eth0` 172.31.0.2/24). It has no route back to the pod CIDR, so a pod reaches it only
 * masqueraded behind 172.31.0.1; its listener answers with the peer address it saw and logs every peer.
 */
export interface LabExternal {
  name: typeof EXT_NAME
  netns: string
  /** The node it hangs off. */
  node: NodeName
  ip: string
  prefixLen: number
  eth0: {name: 'eth0'; ifindex: number; mac: string}
  /** The node's end of the veth. */
  nodeDev: {name: 'eth1'; ifindex: number; mac: string; ip: string}
  listener: {port: number}
}

/** A kube-proxy (iptables mode) ClusterIP Service as the lab writes it on node 1. */
export interface LabService {
  /** kube-proxy's ServicePortName: namespace/name:port. */
  name: string
  node: NodeName
  clusterIp: string
  port: number
  protocol: 'tcp'
  /** KUBE-SVC-<first 16 base32 chars of sha256(name + protocol)>, exactly as kube-proxy names it. */
  svcChain: string
  /** One endpoint, so every connection is DNATed to it (no statistic match: deterministic). */
  endpoints: Array<{pod: string; ip: string; port: number; sepChain: string}>
}

/** @internal tested directly (a test seam) */
export type LabFlowKind = 'pod-to-pod-cross-node' | 'pod-to-pod-same-node' | 'pod-to-service' | 'pod-to-external-masquerade' | 'pod-dropped-by-mark'

/** One of the flows the lab is built to carry, with what a probe must find. */
export interface LabFlow {
  kind: LabFlowKind
  description: string
  fromPod: string
  src: string
  dst: string
  dport: number
  proto: 'tcp'
  expect: {
    connected: boolean
    /** Where the connection ends (a pod or the external namespace), after any DNAT. */
    reaches?: {name: string; ip: string; port: number}
    /** DNAT by the Service rules on the sending node. */
    dnat?: {from: string; to: string; chain: string}
    /** The source address the destination sees (masquerade). */
    snat?: {to: string; rule: string}
    /** Marked then dropped on the sending node. */
    drop?: {mark: number; markChain: string; table: string; chain: string}
    /** Nodes whose hooks record the forward direction. */
    nodes: NodeName[]
  }
}

export type AttachmentKind = 'clsact/ingress' | 'clsact/egress' | 'tcx/ingress' | 'tcx/egress' | 'xdp'
export type FlowHook = 'from-container' | 'to-container' | 'from-overlay' | 'to-overlay' | 'from-netdev' | 'to-netdev' | 'xdp' | 'foreign'

/** One program the lab attaches to a hook. */
export interface ExpectedAttachment {
  node: NodeName
  netns: string
  devname: string
  ifindex: number
  kind: AttachmentKind
  /** How the lab attaches it: tc (legacy clsact filter), tcx (native helper link), xdp (ip link ... xdpdrv). */
  via: 'tc' | 'tcx' | 'xdp'
  /** XDP only. */
  mode?: 'driver'
  /** The BPF object file name (tc shows it in `object:[section]`). */
  object: string
  /** ELF section the program comes from. */
  section: string
  /** TCA_BPF_NAME as tc and bpftool print it, for tc attachments. */
  tcName?: string
  /** The C function name; the kernel keeps the first 15 characters. */
  function: string
  /** What it records in nilab_flows. */
  hook: FlowHook
  /** tcx: the program's position in the device's tcx chain (0 runs first); tcx runs before clsact. */
  tcxPosition?: number
}

/** A program reached only by tail call (Cilium's to-container policy program). */
export interface ExpectedTailCall {
  node: NodeName
  pod: string
  /** cilium_call_policy (the node's own), keyed by endpoint id. */
  map: string
  /** The endpoint id. */
  slot: number
  object: string
  section: string
  function: string
  hook: 'to-container'
  /** Recorded flows carry this ifindex: the pod's lxc device. */
  ifindex: number
  devname: string
}

export interface LabTopology {
  prefix: string
  stateDir: string
  statePath: string
  bpffs: string
  /** Where tc/ip (TC_BPF_MNT=bpffs) pin maps declared with LIBBPF_PIN_BY_NAME. */
  globalsDir: string
  flowMapPin: string
  namespaces: string[]
  nodes: LabNode[]
  pods: LabPod[]
  attachments: ExpectedAttachment[]
  tailCalls: ExpectedTailCall[]
  /** Each node's Cilium maps (specs, pins and contents). */
  cilium: LabCiliumNode[]
  ext: LabExternal
  services: LabService[]
  flows: LabFlow[]
}

/** @internal tested directly (a test seam) */
export function validatePrefix(prefix: string): string {
  if (!LAB_PREFIX_RE.test(prefix)) {
    throw new UserError(`invalid lab prefix "${prefix}": use 1-20 characters [a-z0-9-], starting with a letter and not ending with "-"`)
  }
  return prefix
}

/** --prefix, else $NODEINSPECT_LAB_PREFIX, else nilab; validated. */
export function resolvePrefix(flag?: string): string {
  const env = process.env[LAB_PREFIX_ENV]
  return validatePrefix(flag ?? (env !== undefined && env !== '' ? env : DEFAULT_LAB_PREFIX))
}

/**
 * Whether a netns name belongs to the lab with this prefix: `<prefix>-node<N>`, `<prefix>-n<N>-<letters>` or
 * `<prefix>-ext`. Exact suffix shapes, so that prefix `nilab` never matches the namespaces of a lab `nilab-t123`.
 */
export function isLabNetns(prefix: string, name: string): boolean {
  if (!name.startsWith(`${prefix}-`)) return false
  return /^(?:node[0-9]+|n[0-9]+-[a-z]+|ext)$/.test(name.slice(prefix.length + 1))
}

/**
 * kube-proxy's chain hash (pkg/proxy/iptables/proxier.go portProtoHash): base32(sha256(s))[:16]; its nftables
 * mode (hashAndTruncate) keeps the first 8 of the same characters.
 */
export function kubeProxyChainHash(s: string): string {
  const digest = createHash('sha256').update(s).digest()
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of digest) {
    value = ((value << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
    if (out.length >= 16) break
  }
  return out.slice(0, 16)
}

/**
 * KUBE-SVC-… for a ServicePortName and protocol, KUBE-SEP-… when an endpoint (ip:port) is given.
 * @internal tested directly (a test seam)
 */
export function kubeProxyChain(servicePortName: string, protocol: string, endpoint?: string): string {
  return endpoint === undefined ? `KUBE-SVC-${kubeProxyChainHash(servicePortName + protocol)}` : `KUBE-SEP-${kubeProxyChainHash(servicePortName + protocol + endpoint)}`
}

function veth(name: string, ifindex: number, mac: string, addresses: string[], peer?: LabDevice['peer']): LabDevice {
  const d: LabDevice = {name, ifindex, mac, kind: 'veth', addresses}
  if (peer) d.peer = peer
  return d
}

interface PodSeed {
  name: string
  node: NodeName
  ip: string
  eth0: {ifindex: number; mac: string}
  lxc: {name: string; ifindex: number; mac: string}
  fromContainer: 'tc' | 'tcx'
  endpointId: number
  identity: number
  listener?: {port: number}
}

/**
 * The scenario's values, plus the lab's own choices where docs/scenario.md gives none (MACs of node devices, second
 * pods, every endpoint id and identity but httpbin's: SCENARIO's ipcache gives it identity 15773 and its
 * cilium_lxc entry endpoint id 2826).
 */
const POD_SEEDS: PodSeed[] = [
  // SCENARIO: curl on node 1, eth0 ifindex 42 f6:00:50:f9:92:a1, host side lxc48c4aa0637ce 43 ae:36:76:3e:c3:03.
  {name: 'curl', node: 'node1', ip: '10.42.1.80', eth0: {ifindex: 42, mac: 'f6:00:50:f9:92:a1'}, lxc: {name: 'lxc48c4aa0637ce', ifindex: 43, mac: 'ae:36:76:3e:c3:03'}, fromContainer: 'tc', endpointId: 1590, identity: 22018},
  // Lab's own: a second pod on node 1 whose from-container program is attached with tcx (Cilium >= 1.16 style).
  {name: 'nginx', node: 'node1', ip: '10.42.1.81', eth0: {ifindex: 44, mac: '0a:4e:01:00:00:2c'}, lxc: {name: 'lxc9a1f2e8b40c7', ifindex: 45, mac: '0a:4e:01:00:00:2d'}, fromContainer: 'tcx', endpointId: 3384, identity: 41620, listener: {port: 80}},
  // SCENARIO: httpbin on node 2, eth0 ifindex 28 96:86:44:a6:37:ec, host side lxc65015af813d1 29 d2:ad:65:4d:d0:7b.
  {name: 'httpbin', node: 'node2', ip: '10.42.0.51', eth0: {ifindex: 28, mac: '96:86:44:a6:37:ec'}, lxc: {name: 'lxc65015af813d1', ifindex: 29, mac: 'd2:ad:65:4d:d0:7b'}, fromContainer: 'tc', endpointId: 2826, identity: 15773, listener: {port: 80}},
  {name: 'redis', node: 'node2', ip: '10.42.0.52', eth0: {ifindex: 30, mac: '0a:4e:02:00:00:1e'}, lxc: {name: 'lxc3e7d0c5f19ab', ifindex: 31, mac: '0a:4e:02:00:00:1f'}, fromContainer: 'tcx', endpointId: 1431, identity: 53357},
]

/** The external namespace's link: node 1 eth1 (ifindex 6) 172.31.0.1/24 <-> ext eth0 (ifindex 2) 172.31.0.2/24. */
const EXT_NODE: NodeName = 'node1'
const EXT_PREFIX_LEN = 24
const EXT_NODE_DEV = {name: 'eth1', ifindex: 6, mac: '0a:4e:01:00:00:06', ip: '172.31.0.1'} as const
const EXT_ETH0 = {name: 'eth0', ifindex: 2, mac: '0a:4e:0e:00:00:02', ip: '172.31.0.2'} as const

/** The Service the lab's kube-proxy rules implement: default/httpbin:http 10.96.0.80:80 -> httpbin 10.42.0.51:80. */
const SERVICE_SEED = {name: 'default/httpbin:http', clusterIp: '10.96.0.80', port: 80, protocol: 'tcp' as const, endpoints: [{pod: 'httpbin', port: 80}]}
/** The cluster's pod CIDR (both nodes' /24s): kube-proxy's --cluster-cidr and the masquerade rule's exception. */
export const CLUSTER_CIDR = '10.42.0.0/16'
/** kube-proxy's --masquerade-bit 14 and kubelet's drop bit 15. */
export const KUBE_MASQ_MARK = 0x4000
export const KUBE_DROP_MARK = 0x8000
/** The flow the lab drops by mark: redis's 6379 on node 2, marked 0x8000 on node 1 and dropped in FORWARD. */
export const MARK_DROP_TARGET = {pod: 'redis', port: 6379} as const

export function labTopology(prefix: string = DEFAULT_LAB_PREFIX): LabTopology {
  validatePrefix(prefix)
  const stateDir = `${LAB_RUN_ROOT}/${prefix}`
  const bpffs = `${stateDir}/bpffs`
  const globalsDir = `${bpffs}/tc/globals`
  const nodeNs = (n: NodeName) => `${prefix}-${n}`

  const mkNode = (name: NodeName, id: 1 | 2, hostname: string, underlayIp: string, remote: string, podCidr: string, routerIp: string): LabNode => {
    const other: NodeName = name === 'node1' ? 'node2' : 'node1'
    return {
      name,
      id,
      netns: nodeNs(name),
      hostname,
      underlayIp,
      podCidr,
      routerIp,
      devices: {
        // The underlay: one veth pair whose ends are both called eth0 (ifindex 2 in both nodes).
        eth0: veth('eth0', 2, `52:54:00:a8:01:${underlayIp.endsWith('.12') ? '0c' : '0d'}`, [`${underlayIp}/24`], {netns: nodeNs(other), name: 'eth0', ifindex: 2}),
        cilium_net: veth('cilium_net', 3, `0a:4e:0${id}:00:00:03`, [], {netns: nodeNs(name), name: 'cilium_host', ifindex: 4}),
        cilium_host: veth('cilium_host', 4, `0a:4e:0${id}:00:00:04`, [`${routerIp}/32`], {netns: nodeNs(name), name: 'cilium_net', ifindex: 3}),
        cilium_vxlan: {name: 'cilium_vxlan', ifindex: 5, mac: `0a:4e:0${id}:00:00:05`, kind: 'vxlan', addresses: []},
        ...(name === EXT_NODE ? {eth1: veth(EXT_NODE_DEV.name, EXT_NODE_DEV.ifindex, EXT_NODE_DEV.mac, [`${EXT_NODE_DEV.ip}/${EXT_PREFIX_LEN}`], {netns: `${prefix}-${EXT_NAME}`, name: 'eth0', ifindex: EXT_ETH0.ifindex})} : {}),
      },
      vxlan: {vni: VXLAN_VNI, dstport: VXLAN_PORT, local: underlayIp, remote, dev: 'eth0'},
      bpfMnt: nodeBpfMnt(bpffs, name),
    }
  }
  const nodes: LabNode[] = [
    mkNode('node1', 1, 'ubuntu-dev2', '192.168.1.12', '192.168.1.13', '10.42.1.0/24', '10.42.1.247'),
    mkNode('node2', 2, 'ubuntu-dev3', '192.168.1.13', '192.168.1.12', '10.42.0.0/24', '10.42.0.247'),
  ]
  const nodeOf = (n: NodeName) => nodes.find((x) => x.name === n)!

  const pods: LabPod[] = POD_SEEDS.map((s) => {
    const node = nodeOf(s.node)
    const pod: LabPod = {
      name: s.name,
      netns: `${prefix}-n${node.id}-${s.name}`,
      node: s.node,
      ip: s.ip,
      gateway: node.routerIp,
      eth0: {name: 'eth0', ...s.eth0},
      lxc: {...s.lxc},
      fromContainer: s.fromContainer,
      endpointId: s.endpointId,
      identity: s.identity,
    }
    if (s.listener) pod.listener = {...s.listener}
    return pod
  })

  const attachments: ExpectedAttachment[] = []
  const tc = (node: LabNode, dev: {name: string; ifindex: number}, dir: 'ingress' | 'egress', object: string, section: string, fn: string, hook: FlowHook) =>
    attachments.push({node: node.name, netns: node.netns, devname: dev.name, ifindex: dev.ifindex, kind: `clsact/${dir}`, via: 'tc', object, section, tcName: `${object}:[${section}]`, function: fn, hook})
  const tcx = (node: LabNode, dev: {name: string; ifindex: number}, dir: 'ingress' | 'egress', object: string, fn: string, hook: FlowHook, tcxPosition: number) =>
    attachments.push({node: node.name, netns: node.netns, devname: dev.name, ifindex: dev.ifindex, kind: `tcx/${dir}`, via: 'tcx', object, section: 'tc', function: fn, hook, tcxPosition})

  for (const node of nodes) {
    const {eth0, cilium_vxlan} = node.devices
    if (node.name === 'node2') {
      attachments.push({node: node.name, netns: node.netns, devname: 'eth0', ifindex: eth0.ifindex, kind: 'xdp', via: 'xdp', mode: 'driver', object: 'bpf_xdp.o', section: 'from-netdev', function: 'bpf_xdp_entry', hook: 'xdp'})
      // A foreign (non-Cilium) tcx program that runs before Cilium's legacy from-netdev.
      tcx(node, eth0, 'ingress', 'bpf_foreign.o', 'foreign_ingress', 'foreign', 0)
    }
    tc(node, eth0, 'ingress', 'bpf_netdev_eth0.o', 'from-netdev', 'from_netdev', 'from-netdev')
    tc(node, eth0, 'egress', 'bpf_netdev_eth0.o', 'to-netdev', 'to_netdev', 'to-netdev')
    // Cilium attaches bpf_host to every native device, each with its own object (bpf_netdev_<dev>.o).
    if (node.devices.eth1) {
      tc(node, node.devices.eth1, 'ingress', 'bpf_netdev_eth1.o', 'from-netdev', 'from_netdev', 'from-netdev')
      tc(node, node.devices.eth1, 'egress', 'bpf_netdev_eth1.o', 'to-netdev', 'to_netdev', 'to-netdev')
    }
    tc(node, cilium_vxlan, 'ingress', 'bpf_overlay.o', 'from-overlay', 'from_overlay', 'from-overlay')
    tc(node, cilium_vxlan, 'egress', 'bpf_overlay.o', 'to-overlay', 'to_overlay', 'to-overlay')
    for (const pod of pods.filter((p) => p.node === node.name)) {
      // Only ingress on lxc devices: delivery to pods is by tail call (SCENARIO: no egress program on lxc65015af813d1).
      if (pod.fromContainer === 'tc') tc(node, pod.lxc, 'ingress', 'bpf_lxc.o', 'from-container', 'handle_xgress', 'from-container')
      else tcx(node, pod.lxc, 'ingress', 'bpf_lxc_tcx.o', 'cil_from_container', 'from-container', 0)
    }
  }

  const tailCalls: ExpectedTailCall[] = pods.map((p) => ({
    node: p.node,
    pod: p.name,
    map: CILIUM_CALL_POLICY,
    slot: p.endpointId,
    object: 'bpf_to_container.o',
    section: 'to-container',
    function: 'handle_policy',
    hook: 'to-container',
    ifindex: p.lxc.ifindex,
    devname: p.lxc.name,
  }))

  const ext: LabExternal = {
    name: EXT_NAME,
    netns: `${prefix}-${EXT_NAME}`,
    node: EXT_NODE,
    ip: EXT_ETH0.ip,
    prefixLen: EXT_PREFIX_LEN,
    eth0: {name: 'eth0', ifindex: EXT_ETH0.ifindex, mac: EXT_ETH0.mac},
    nodeDev: {...EXT_NODE_DEV},
    listener: {port: 80},
  }
  const podOf = (name: string) => pods.find((p) => p.name === name)!
  const services: LabService[] = [
    {
      name: SERVICE_SEED.name,
      node: 'node1',
      clusterIp: SERVICE_SEED.clusterIp,
      port: SERVICE_SEED.port,
      protocol: SERVICE_SEED.protocol,
      svcChain: kubeProxyChain(SERVICE_SEED.name, SERVICE_SEED.protocol),
      endpoints: SERVICE_SEED.endpoints.map((e) => ({pod: e.pod, ip: podOf(e.pod).ip, port: e.port, sepChain: kubeProxyChain(SERVICE_SEED.name, SERVICE_SEED.protocol, `${podOf(e.pod).ip}:${e.port}`)})),
    },
  ]
  const curl = podOf('curl')
  const httpbin = podOf('httpbin')
  const nginx = podOf('nginx')
  const redis = podOf(MARK_DROP_TARGET.pod)
  const svc = services[0]!
  const flows: LabFlow[] = [
    {kind: 'pod-to-pod-cross-node', description: 'curl (node 1) to httpbin (node 2) over VXLAN', fromPod: curl.name, src: curl.ip, dst: httpbin.ip, dport: 80, proto: 'tcp', expect: {connected: true, reaches: {name: httpbin.name, ip: httpbin.ip, port: 80}, nodes: ['node1', 'node2']}},
    {kind: 'pod-to-pod-same-node', description: 'curl to nginx, both on node 1 (local delivery by tail call)', fromPod: curl.name, src: curl.ip, dst: nginx.ip, dport: 80, proto: 'tcp', expect: {connected: true, reaches: {name: nginx.name, ip: nginx.ip, port: 80}, nodes: ['node1']}},
    {
      kind: 'pod-to-service',
      description: `curl to the ClusterIP ${svc.clusterIp}:${svc.port} (${svc.name}), DNATed by kube-proxy's rules on node 1 to httpbin`,
      fromPod: curl.name,
      src: curl.ip,
      dst: svc.clusterIp,
      dport: svc.port,
      proto: 'tcp',
      expect: {connected: true, reaches: {name: httpbin.name, ip: httpbin.ip, port: 80}, dnat: {from: `${svc.clusterIp}:${svc.port}`, to: `${httpbin.ip}:80`, chain: svc.endpoints[0]!.sepChain}, nodes: ['node1', 'node2']},
    },
    {
      kind: 'pod-to-external-masquerade',
      description: `curl to ${ext.ip}:80 outside the cluster, masqueraded behind node 1's ${ext.nodeDev.ip} on eth1`,
      fromPod: curl.name,
      src: curl.ip,
      dst: ext.ip,
      dport: 80,
      proto: 'tcp',
      expect: {connected: true, reaches: {name: EXT_NAME, ip: ext.ip, port: 80}, snat: {to: ext.nodeDev.ip, rule: `-A POSTROUTING -s ${CLUSTER_CIDR} ! -d ${CLUSTER_CIDR} -o eth1 -j MASQUERADE`}, nodes: ['node1']},
    },
    {
      kind: 'pod-dropped-by-mark',
      description: `curl to redis ${redis.ip}:${MARK_DROP_TARGET.port}: marked ${'0x' + KUBE_DROP_MARK.toString(16)} in mangle on node 1, dropped in filter FORWARD (KUBE-FIREWALL)`,
      fromPod: curl.name,
      src: curl.ip,
      dst: redis.ip,
      dport: MARK_DROP_TARGET.port,
      proto: 'tcp',
      expect: {connected: false, drop: {mark: KUBE_DROP_MARK, markChain: 'KUBE-MARK-DROP', table: 'filter', chain: 'KUBE-FIREWALL'}, nodes: ['node1']},
    },
  ]

  return {
    prefix,
    stateDir,
    statePath: `${stateDir}/state.json`,
    bpffs,
    globalsDir,
    flowMapPin: `${globalsDir}/${FLOW_MAP_NAME}`,
    namespaces: [...nodes.map((n) => n.netns), ...pods.map((p) => p.netns), ext.netns],
    nodes,
    pods,
    attachments,
    tailCalls,
    cilium: nodes.map((n) => labCiliumNode(bpffs, n, nodes.find((x) => x.name !== n.name)!, pods)),
    ext,
    services,
    flows,
  }
}
