/**
 * (f) `br-netfilter`: the bridge variant with `net.bridge.bridge-nf-call-iptables=1`, so bridged IPv4 frames cross
 * iptables PREROUTING/FORWARD/POSTROUTING (br_nf_pre_routing and br_nf_forward_ip in
 * net/bridge/br_netfilter_hooks.c). A second pod on node 1 makes a bridged flow; a filter FORWARD rule drops its
 * port 6379, which only a bridged frame that crosses iptables can meet (without br_netfilter the SYN reaches
 * nginx, which refuses it).
 */
import {existsSync} from 'node:fs'
import {BRIDGE_PODS, bridgeCni} from './bridge-cni.js'
import type {LabVariantDef} from './variant-plan.js'

/** Present when the kernel has br_netfilter (built in or loaded): the lab never loads modules. */
const BR_NETFILTER_SYSCTLS = '/proc/sys/net/bridge'
const DROPPED_PORT = 6379

export const brNetfilterVariant: LabVariantDef = {
  name: 'br-netfilter',
  summary: 'the bridge variant with net.bridge.bridge-nf-call-iptables=1: bridged frames between pods of node 1 cross iptables FORWARD',
  unavailable: () =>
    existsSync(BR_NETFILTER_SYSCTLS) ? undefined : `br_netfilter is not available on this kernel (${BR_NETFILTER_SYSCTLS} is absent, and the lab never loads modules)`,
  plan: (prefix) => {
    const b = bridgeCni('br-netfilter', brNetfilterVariant.summary, prefix, {extraPods: ['nginx'], brNetfilter: true})
    const {curl, nginx} = BRIDGE_PODS
    // First in FORWARD: flannel's FLANNEL-FWD accepts everything from the pod network.
    b.xt('node1', 'lab', 'filter', `-A FORWARD -s ${curl.ip}/32 -d ${nginx.ip}/32 -p tcp -m tcp --dport ${DROPPED_PORT} -m comment --comment "lab: bridged deny" -j DROP`, `drop curl to nginx:${DROPPED_PORT}, seen only through br_netfilter`, true)
    b.flows.push(
      {kind: 'pod-to-pod-same-node-bridged', description: 'curl to nginx on node 1: one cni0 bridges the frame (it crosses iptables FORWARD with br_netfilter on)', fromPod: curl.name, dst: nginx.ip, dport: 80, proto: 'tcp', expect: {connected: true, listeners: [nginx.name], peer: curl.ip}},
      {kind: 'pod-dropped-by-bridged-forward-rule', description: `curl to nginx:${DROPPED_PORT} on node 1, dropped in filter FORWARD, which the bridged frame reaches only through br_netfilter`, fromPod: curl.name, dst: nginx.ip, dport: DROPPED_PORT, proto: 'tcp', expect: {connected: false}},
    )
    return b.build()
  },
}
