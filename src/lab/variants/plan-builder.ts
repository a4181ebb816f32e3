/**
 * Builds a LabVariantPlan (variant-plan.ts) from a variant's choices: two nodes joined by an underlay veth pair
 * (eth0 on both) with a VXLAN overlay of the variant's own name, VNI and UDP port; pods on a Linux bridge
 * (flannel's cni0) or routed /32 behind a proxy-ARP veth (Calico's); an optional namespace outside the cluster
 * behind a node's second uplink; rules, nft tables and ip rules. It writes the `ip -batch` lines, the sysctls and
 * what verify must find, in the order `lab up` carries them out. Pure: it only collects data.
 */
import {join} from 'node:path'
import {iptablesRestoreInput} from '../netfilter.js'
import {type LabPlanCommand, type LabListenerSpec, netnsSysctls} from '../plan.js'
import {LAB_RUN_ROOT, type NodeName} from '../topology.js'
import type {ExpectedDevice, ExpectedRoute, ExpectedSysctl, LabVariantPlan, VariantFlow, VariantIpCommand, VariantNftTable, VariantNode, VariantOutside, VariantPod, VariantService, VariantXtRule} from './variant-plan.js'

const UNDERLAY_PREFIX_LEN = 24

export interface VariantNodeSeed {
  underlayIp: string
  podCidr: string
  /** The overlay device's own address (the other node's route to this node's pods goes via it). */
  overlayAddress: string
  overlayMac: string
}

export interface VariantPodSeed {
  name: string
  node: NodeName
  ip: string
  hostDev: string
  listener?: {port: number}
}

const batch = (lines: readonly string[]) => `${lines.join('\n')}\n`

export class VariantPlanBuilder {
  readonly nodes: VariantNode[]
  readonly pods: VariantPod[] = []
  outside?: VariantOutside
  readonly services: VariantService[] = []
  readonly flows: VariantFlow[] = []
  private readonly iptables: VariantXtRule[] = []
  private readonly nft: VariantNftTable[] = []
  private readonly ip: VariantIpCommand[] = []
  private readonly devices: ExpectedDevice[] = []
  private readonly routes: ExpectedRoute[] = []
  private readonly sysctls: ExpectedSysctl[] = []
  /** Per node: `ip -batch` lines in three runs (links, then addresses and states, then routes). */
  private readonly nodeLines = new Map<NodeName, {links: string[]; config: string[]; routes: string[]}>()
  /** Per pod or outside netns: its own `ip -batch` lines. */
  private readonly nsLines = new Map<string, string[]>()
  /** Sysctls set when the namespace is new (before any link), and per-device ones set after the links. */
  private readonly earlySysctls = new Map<string, string[]>()
  private readonly lateSysctls = new Map<NodeName, string[]>()
  private readonly fdb: LabPlanCommand[] = []

  constructor(
    readonly variant: string,
    readonly summary: string,
    readonly prefix: string,
    overlay: {dev: string; vni: number; port: number},
    seeds: [VariantNodeSeed, VariantNodeSeed],
  ) {
    this.nodes = seeds.map((s, i) => ({
      name: i === 0 ? 'node1' : 'node2',
      netns: `${prefix}-node${i + 1}`,
      underlayIp: s.underlayIp,
      podCidr: s.podCidr,
      overlay: {...overlay, address: s.overlayAddress, mac: s.overlayMac},
    }))
    for (const n of this.nodes) {
      this.nodeLines.set(n.name, {links: [], config: [], routes: []})
      this.earlySysctls.set(n.netns, netnsSysctls(true))
    }
    const [n1, n2] = this.nodes as [VariantNode, VariantNode]
    // The underlay: one veth pair whose ends are both eth0, made from node 1 (its other end goes to node 2).
    this.lines('node1').links.push(`link add eth0 type veth peer name eth0 netns ${n2.netns}`)
    for (const n of this.nodes) {
      const other = n === n1 ? n2 : n1
      const l = this.lines(n.name)
      const o = n.overlay
      // VXLAN like flannel's and Calico's: no learning, one fdb entry per remote VTEP MAC, a permanent neighbour
      // for the remote VTEP address and an onlink route to the remote pod CIDR through it.
      l.links.push(`link add ${o.dev} address ${o.mac} type vxlan id ${o.vni} dstport ${o.port} local ${n.underlayIp} dev eth0 nolearning`)
      l.config.push(`addr add ${n.underlayIp}/${UNDERLAY_PREFIX_LEN} dev eth0`, 'link set dev lo up', 'link set dev eth0 up', `addr add ${o.address}/32 dev ${o.dev}`, `link set dev ${o.dev} up`)
      l.routes.push(`neigh add ${other.overlay.address} lladdr ${other.overlay.mac} dev ${o.dev} nud permanent`, `route add ${other.podCidr} via ${other.overlay.address} dev ${o.dev} onlink`)
      this.fdb.push({step: `vxlan fdb (${n.name})`, argv: ['bridge', '-n', n.netns, 'fdb', 'append', other.overlay.mac, 'dev', o.dev, 'dst', other.underlayIp]})
      this.devices.push(
        {netns: n.netns, name: 'eth0', kind: 'veth', addresses: [`${n.underlayIp}/${UNDERLAY_PREFIX_LEN}`]},
        {netns: n.netns, name: o.dev, kind: 'vxlan', addresses: [`${o.address}/32`], vxlan: {id: o.vni, port: o.port}, mac: o.mac},
      )
      this.routes.push({netns: n.netns, dst: other.podCidr, dev: o.dev})
    }
  }

  node(name: NodeName): VariantNode {
    return this.nodes.find((n) => n.name === name)!
  }

  private lines(node: NodeName) {
    return this.nodeLines.get(node)!
  }

  /** A node's own routing line (after its links and addresses), e.g. a default route. */
  nodeRoute(node: NodeName, line: string, expect?: ExpectedRoute): void {
    this.lines(node).routes.push(line)
    if (expect) this.routes.push(expect)
  }

  /** A sysctl in a node netns; `late` for per-device keys (set after the links exist). */
  nodeSysctl(node: NodeName, key: string, value: string, opts: {late?: boolean; absentOk?: boolean} = {}): void {
    const netns = this.node(node).netns
    if (opts.late) this.lateSysctls.set(node, [...(this.lateSysctls.get(node) ?? []), `${key}=${value}`])
    else this.earlySysctls.get(netns)!.push(`${key}=${value}`)
    this.sysctls.push({netns, key, value, ...(opts.absentOk ? {absentOk: true} : {})})
  }

  /** flannel's bridge: `cni0` with the first address of the node's pod CIDR, the pods' gateway. */
  bridge(node: NodeName, name: string, address: string): void {
    const l = this.lines(node)
    l.links.push(`link add ${name} type bridge`)
    l.config.push(`addr add ${address} dev ${name}`, `link set dev ${name} up`)
    this.devices.push({netns: this.node(node).netns, name, kind: 'bridge', addresses: [address]})
  }

  /** A pod whose veth's host end is a port of `bridge`; its default route is via the bridge's address. */
  bridgedPod(seed: VariantPodSeed, bridge: {name: string; gateway: string; prefixLen: number}): VariantPod {
    const pod = this.pod(seed, bridge.gateway)
    const l = this.lines(seed.node)
    l.links.push(`link add ${pod.hostDev} type veth peer name eth0 netns ${pod.netns}`)
    l.config.push(`link set dev ${pod.hostDev} master ${bridge.name}`, `link set dev ${pod.hostDev} up`)
    this.nsLines.set(pod.netns, ['link set dev lo up', `addr add ${pod.ip}/${bridge.prefixLen} dev eth0`, 'link set dev eth0 up', `route add default via ${bridge.gateway} dev eth0`])
    this.devices.push({netns: this.node(seed.node).netns, name: pod.hostDev, kind: 'veth', master: bridge.name, addresses: []}, {netns: pod.netns, name: 'eth0', kind: 'veth', addresses: [`${pod.ip}/${bridge.prefixLen}`]})
    return pod
  }

  /**
   * A Calico-style routed pod: a /32 on its eth0, a default route via the link-local gateway, which nothing owns:
   * the host end (MAC ee:ee:ee:ee:ee:ee, no address) answers its ARP by proxy ARP (`proxy_arp=1`, arp_process in
   * net/ipv4/arp.c answers for an address routed out of another device). The host routes the pod's /32 to it.
   */
  routedPod(seed: VariantPodSeed, gateway: string, hostMac: string): VariantPod {
    const pod = this.pod(seed, gateway)
    const l = this.lines(seed.node)
    l.links.push(`link add ${pod.hostDev} address ${hostMac} type veth peer name eth0 netns ${pod.netns}`)
    l.config.push(`link set dev ${pod.hostDev} up`)
    l.routes.push(`route add ${pod.ip}/32 dev ${pod.hostDev} scope link`)
    this.nodeSysctl(seed.node, `net.ipv4.conf.${pod.hostDev}.proxy_arp`, '1', {late: true})
    this.nodeSysctl(seed.node, `net.ipv4.neigh.${pod.hostDev}.proxy_delay`, '0', {late: true})
    this.nsLines.set(pod.netns, ['link set dev lo up', `addr add ${pod.ip}/32 dev eth0`, 'link set dev eth0 up', `route add ${gateway}/32 dev eth0 scope link`, `route add default via ${gateway} dev eth0`])
    this.devices.push({netns: this.node(seed.node).netns, name: pod.hostDev, kind: 'veth', addresses: [], mac: hostMac}, {netns: pod.netns, name: 'eth0', kind: 'veth', addresses: [`${pod.ip}/32`]})
    this.routes.push({netns: this.node(seed.node).netns, dst: pod.ip, dev: pod.hostDev})
    return pod
  }

  private pod(seed: VariantPodSeed, gateway: string): VariantPod {
    const node = this.node(seed.node)
    const pod: VariantPod = {name: seed.name, netns: `${this.prefix}-n${node.name.slice(4)}-${seed.name}`, node: seed.node, ip: seed.ip, gateway, hostDev: seed.hostDev}
    if (seed.listener) pod.listener = {...seed.listener}
    this.pods.push(pod)
    this.earlySysctls.set(pod.netns, netnsSysctls(false))
    return pod
  }

  /**
   * A namespace outside the cluster joined to `node` by a veth (the node's second uplink): node end `devName`
   * with nodeIp/24, outside end eth0 with ip/24, and its listener's address on its lo (reachable only by a route
   * towards it, which the node's main table does not have).
   */
  outsideNetns(node: NodeName, devName: string, nodeIp: string, ip: string, listenIp: string): VariantOutside {
    const n = this.node(node)
    const netns = `${this.prefix}-ext`
    this.outside = {name: 'ext', netns, node, nodeDev: {name: devName, ip: nodeIp}, ip, listenIp, listener: {port: 80}}
    const l = this.lines(node)
    l.links.push(`link add ${devName} type veth peer name eth0 netns ${netns}`)
    l.config.push(`addr add ${nodeIp}/24 dev ${devName}`, `link set dev ${devName} up`)
    this.nsLines.set(netns, ['link set dev lo up', `addr add ${listenIp}/32 dev lo`, `addr add ${ip}/24 dev eth0`, 'link set dev eth0 up'])
    this.earlySysctls.set(netns, netnsSysctls(false))
    this.devices.push({netns: n.netns, name: devName, kind: 'veth', addresses: [`${nodeIp}/24`]}, {netns, name: 'eth0', kind: 'veth', addresses: [`${ip}/24`]})
    return this.outside
  }

  /** An iptables rule (`-A CHAIN …`), appended, or put before every rule written so far (`first`). */
  xt(node: NodeName, owner: string, table: VariantXtRule['table'], rule: string, purpose: string, first = false): void {
    const chain = /^-A (\S+) /.exec(rule)![1]!
    const r = {node, owner, table, chain, rule, purpose}
    if (first) this.iptables.unshift(r)
    else this.iptables.push(r)
  }

  nftTable(t: VariantNftTable): void {
    this.nft.push(t)
  }

  ipCommand(c: VariantIpCommand, expect?: ExpectedRoute): void {
    this.ip.push(c)
    if (expect) this.routes.push(expect)
  }

  build(): LabVariantPlan {
    const stateDir = `${LAB_RUN_ROOT}/${this.prefix}`
    const namespaces = [...this.nodes.map((n) => n.netns), ...this.pods.map((p) => p.netns), ...(this.outside ? [this.outside.netns] : [])]
    const nodeBatch = (n: VariantNode): LabPlanCommand => {
      const l = this.lines(n.name)
      return {step: `links (${n.name})`, argv: ['ip', '-n', n.netns, '-batch', '-'], input: batch([...l.links, ...l.config, ...l.routes])}
    }
    const perNode: LabPlanCommand[] = []
    for (const n of this.nodes) {
      const late = this.lateSysctls.get(n.name)
      if (late?.length) perNode.push({step: `device sysctls (${n.name})`, argv: ['sysctl', '-q', '-w', ...late], netns: n.netns})
      const xt = iptablesRestoreInput(this.iptables, n.name)
      if (xt) perNode.push({step: `iptables (${n.name})`, argv: ['iptables-restore', '--noflush'], netns: n.netns, input: xt})
      for (const t of this.nft.filter((x) => x.node === n.name)) perNode.push({step: `nft ${t.family} ${t.name} (${n.name})`, argv: ['nft', '-f', '-'], netns: n.netns, input: t.text})
      const ip = this.ip.filter((c) => c.node === n.name).map((c) => c.command)
      if (ip.length) perNode.push({step: `ip rules (${n.name})`, argv: ['ip', '-n', n.netns, '-batch', '-'], input: batch(ip)})
    }
    const listeners: LabListenerSpec[] = [
      ...this.pods.filter((p) => p.listener).map((p) => ({name: p.name, netns: p.netns, host: p.ip, port: p.listener!.port})),
      ...(this.outside ? [{name: this.outside.name, netns: this.outside.netns, host: this.outside.listenIp, port: this.outside.listener.port}] : []),
    ].map((l) => ({...l, pidfile: join(stateDir, `${l.name}-httpd.pid`), peerLog: join(stateDir, `${l.name}-peers.jsonl`)}))
    return {
      variant: this.variant,
      summary: this.summary,
      prefix: this.prefix,
      stateDir,
      statePath: `${stateDir}/state.json`,
      namespaces,
      nodes: this.nodes,
      pods: this.pods,
      ...(this.outside ? {outside: this.outside} : {}),
      services: this.services,
      phases: [
        {step: 'namespaces', commands: [{step: 'namespaces', argv: ['ip', '-batch', '-'], input: batch(namespaces.map((n) => `netns add ${n}`))}]},
        {step: 'sysctls', commands: namespaces.map((ns) => ({step: `sysctls (${ns})`, argv: ['sysctl', '-q', '-e', '-w', ...this.earlySysctls.get(ns)!], netns: ns}))},
        // Node 1 first: it makes the underlay pair, whose other end lands in node 2.
        ...this.nodes.map((n) => ({step: `links (${n.name})`, commands: [nodeBatch(n)]})),
        {
          step: 'pods, fdb, rules',
          commands: [...[...this.nsLines].map(([netns, lines]) => ({step: `network (${netns})`, argv: ['ip', '-n', netns, '-batch', '-'], input: batch(lines)})), ...this.fdb, ...perNode],
        },
      ],
      listeners,
      iptables: this.iptables,
      nft: this.nft,
      ip: this.ip,
      expect: {devices: this.devices, routes: this.routes, sysctls: this.sysctls},
      flows: this.flows,
    }
  }
}
