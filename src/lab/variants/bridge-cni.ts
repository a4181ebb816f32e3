/**
 * The flannel-style bridge CNI the bridge, nft-kube-proxy, policy-routing, notrack and br-netfilter variants
 * build on: per node a `cni0` bridge holding the first address of the node's /24, veth pods attached to it whose
 * default route is via that address, and a VXLAN overlay `flannel.1` (VNI 1, UDP 8472, flannel's defaults) whose
 * address is the .0 of the node's pod CIDR; the other node's /24 is routed `via <its .0> dev flannel.1 onlink`
 * (flannel's vxlan backend, backend/vxlan/vxlan_network.go). Addresses from flannel's default 10.244.0.0/16.
 */
import {VariantPlanBuilder, type VariantPodSeed} from './plan-builder.js'

/** flannel's default network (kube-flannel.yml net-conf.json). */
const FLANNEL_NETWORK = '10.244.0.0/16'
const FLANNEL_VXLAN = {dev: 'flannel.1', vni: 1, port: 8472}
const CNI_BRIDGE = 'cni0'

/** The pods every bridge variant has: curl on node 1 (the client) and httpbin on node 2 (a listener). */
export const BRIDGE_PODS = {
  curl: {name: 'curl', node: 'node1', ip: '10.244.1.2', hostDev: 'veth3a1f5c2e'},
  nginx: {name: 'nginx', node: 'node1', ip: '10.244.1.3', hostDev: 'veth5b7d9e1f', listener: {port: 80}},
  httpbin: {name: 'httpbin', node: 'node2', ip: '10.244.2.7', hostDev: 'veth8c2e4a6b', listener: {port: 80}},
  redis: {name: 'redis', node: 'node2', ip: '10.244.2.8', hostDev: 'veth1d3f5b7c', listener: {port: 80}},
} as const satisfies Record<string, VariantPodSeed>

export interface BridgeCniOptions {
  /** Pods beyond curl and httpbin (from BRIDGE_PODS). */
  extraPods?: Array<keyof typeof BRIDGE_PODS>
  /** flannel's FLANNEL-FWD and FLANNEL-POSTRTG chains (default true). */
  flannelRules?: boolean
  /** net.bridge.bridge-nf-call-iptables in the nodes (default 0: a new netns here starts with 1). */
  brNetfilter?: boolean
}

export function bridgeCni(variant: string, summary: string, prefix: string, opts: BridgeCniOptions = {}): VariantPlanBuilder {
  const b = new VariantPlanBuilder(variant, summary, prefix, FLANNEL_VXLAN, [
    {underlayIp: '192.168.1.12', podCidr: '10.244.1.0/24', overlayAddress: '10.244.1.0', overlayMac: '0a:58:0a:f4:01:00'},
    {underlayIp: '192.168.1.13', podCidr: '10.244.2.0/24', overlayAddress: '10.244.2.0', overlayMac: '0a:58:0a:f4:02:00'},
  ])
  for (const n of b.nodes) {
    const gateway = n.podCidr.replace(/\.0\/24$/, '.1')
    b.bridge(n.name, CNI_BRIDGE, `${gateway}/24`)
    // br_netfilter's per-netns switch (net/bridge/br_netfilter_hooks.c brnf_call_iptables): off unless asked; on
    // a kernel without br_netfilter the key is absent, which is off too.
    b.nodeSysctl(n.name, 'net.bridge.bridge-nf-call-iptables', opts.brNetfilter ? '1' : '0', {absentOk: !opts.brNetfilter})
  }
  const seeds = [BRIDGE_PODS.curl, BRIDGE_PODS.httpbin, ...(opts.extraPods ?? []).map((k) => BRIDGE_PODS[k])]
  for (const s of seeds) b.bridgedPod({...s}, {name: CNI_BRIDGE, gateway: b.node(s.node).podCidr.replace(/\.0\/24$/, '.1'), prefixLen: 24})
  if (opts.flannelRules !== false) for (const n of b.nodes) flannelRules(b, n.name, n.podCidr)
  const {curl, httpbin} = BRIDGE_PODS
  b.flows.push({
    kind: 'pod-to-pod-cross-node',
    description: `curl (node 1) to httpbin (node 2) through cni0 and ${FLANNEL_VXLAN.dev} (VNI ${FLANNEL_VXLAN.vni}, UDP ${FLANNEL_VXLAN.port})`,
    fromPod: curl.name,
    dst: httpbin.ip,
    dport: 80,
    proto: 'tcp',
    expect: {connected: true, listeners: [httpbin.name], peer: curl.ip},
  })
  return b
}

/** flanneld's iptables rules (pkg/trafficmngr/iptables: forward and masquerade rules), in iptables-save's shape. */
function flannelRules(b: VariantPlanBuilder, node: 'node1' | 'node2', podCidr: string): void {
  const f = (table: 'nat' | 'filter', rule: string, purpose: string) => b.xt(node, 'flannel', table, rule, purpose)
  f('filter', '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD', 'feeder')
  f('filter', `-A FLANNEL-FWD -s ${FLANNEL_NETWORK} -m comment --comment "flanneld forward" -j ACCEPT`, 'accept forwarding from the pod network')
  f('filter', `-A FLANNEL-FWD -d ${FLANNEL_NETWORK} -m comment --comment "flanneld forward" -j ACCEPT`, 'accept forwarding to the pod network')
  f('nat', '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG', 'feeder')
  f('nat', '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN', "kube-proxy's masquerade bit: kube-proxy masquerades it")
  f('nat', `-A FLANNEL-POSTRTG -s ${podCidr} -d ${FLANNEL_NETWORK} -m comment --comment "flanneld masq" -j RETURN`, 'pod to pod: no masquerade')
  f('nat', `-A FLANNEL-POSTRTG -s ${FLANNEL_NETWORK} -d ${podCidr} -m comment --comment "flanneld masq" -j RETURN`, 'pod to pod: no masquerade')
  f('nat', `-A FLANNEL-POSTRTG ! -s ${FLANNEL_NETWORK} -d ${podCidr} -m comment --comment "flanneld masq" -j RETURN`, 'to local pods from outside')
  f('nat', `-A FLANNEL-POSTRTG -s ${FLANNEL_NETWORK} ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`, 'pods leaving the pod network')
  f('nat', `-A FLANNEL-POSTRTG ! -s ${FLANNEL_NETWORK} -d ${FLANNEL_NETWORK} -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`, 'outside into the pod network')
}
