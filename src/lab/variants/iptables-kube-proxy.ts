/**
 * (g) `iptables-kube-proxy`: kube-proxy in iptables mode on the bridge variant (flannel plus kube-proxy, the most
 * common pairing), on both nodes, in the shapes kube-proxy 1.28 writes (pkg/proxy/iptables/proxier.go):
 * KUBE-SERVICES -> KUBE-SVC-<hash> -> `-m statistic --mode random` -> KUBE-SEP-<hash> DNAT, KUBE-MARK-MASQ for
 * sources outside the cluster CIDR, KUBE-POSTROUTING's masquerade of what carries 0x4000, KUBE-FORWARD, and the
 * filter table's REJECT for a Service without endpoints. Services: TCP and UDP with two endpoints on node 2, one
 * whose endpoint is on node 1 (same node: DNAT, then routed back onto cni0), and one without endpoints.
 */
import {kubeProxyChainHash} from '../topology.js'
import {BRIDGE_PODS, bridgeCni} from './bridge-cni.js'
import type {LabVariantDef, VariantService} from './variant-plan.js'

const CLUSTER_CIDR = '10.244.0.0/16'
const MASQ_BIT = '0x4000'

/** KUBE-SVC-… / KUBE-SEP-… (servicePortChainName / servicePortEndpointChainName). */
const svcChain = (s: VariantService) => `KUBE-SVC-${kubeProxyChainHash(s.name + s.protocol)}`
const sepChain = (s: VariantService, ep: {ip: string; port: number}) => `KUBE-SEP-${kubeProxyChainHash(`${s.name}${s.protocol}${ep.ip}:${ep.port}`)}`

/** A Service with no endpoints: kube-proxy rejects its traffic in filter KUBE-SERVICES. */
const EMPTY = {name: 'default/empty:http', clusterIp: '10.96.0.99', port: 80}

export const iptablesKubeProxyVariant: LabVariantDef = {
  name: 'iptables-kube-proxy',
  summary: 'kube-proxy in iptables mode on the bridge variant, on both nodes: KUBE-SVC/KUBE-SEP with statistic endpoint choice, DNAT, KUBE-MARK-MASQ, a same-node Service, and REJECT for a Service without endpoints',
  plan: (prefix) => {
    const b = bridgeCni('iptables-kube-proxy', iptablesKubeProxyVariant.summary, prefix, {extraPods: ['redis', 'nginx']})
    const {curl, httpbin, redis, nginx} = BRIDGE_PODS
    // A node routes what no Service rule translates: without a default route a Service address without endpoints
    // would fail the route lookup (ICMP unreachable) before filter FORWARD could reject it.
    for (const n of b.nodes) b.nodeRoute(n.name, 'route add default via 192.168.1.1 dev eth0 onlink', {netns: n.netns, dst: 'default', dev: 'eth0'})
    const remote = [httpbin, redis].map((p) => ({pod: p.name, ip: p.ip, port: 80}))
    b.services.push(
      {name: 'default/httpbin:http', clusterIp: '10.96.0.80', port: 80, protocol: 'tcp', endpoints: remote},
      {name: 'default/echo:dns', clusterIp: '10.96.0.53', port: 53, protocol: 'udp', endpoints: remote},
      {name: 'default/nginx:http', clusterIp: '10.96.0.81', port: 80, protocol: 'tcp', endpoints: [{pod: nginx.name, ip: nginx.ip, port: 80}]},
    )
    for (const n of b.nodes) {
      const k = (table: 'nat' | 'filter', rule: string, purpose: string) => b.xt(n.name, 'kube-proxy', table, rule, purpose)
      // kube-proxy prepends its jumps in the built-in chains (iptablesJumpChains, utiliptables.Prepend): they come
      // before flannel's, which accept all pod traffic in FORWARD. Each `first` goes before the ones made so far.
      const jump = (table: 'nat' | 'filter', rule: string, purpose: string) => b.xt(n.name, 'kube-proxy', table, rule, purpose, true)
      jump('nat', '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING', 'masquerade what kube-proxy marked')
      jump('nat', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'Service portals for the node itself')
      jump('nat', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'Service portals for forwarded traffic')
      jump('filter', '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'Services without endpoints, from the node')
      jump('filter', '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'Services without endpoints, forwarded')
      jump('filter', '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD', 'forwarding rules')
      k('nat', `-A KUBE-MARK-MASQ -j MARK --or-mark ${MASQ_BIT}`, 'the masquerade bit (--masquerade-bit 14)')
      k('nat', `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_BIT}/${MASQ_BIT} -j RETURN`, 'not marked: no masquerade')
      k('nat', `-A KUBE-POSTROUTING -j MARK --xor-mark ${MASQ_BIT}`, 'clear the bit before the packet leaves')
      k('nat', '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully', 'masquerade')
      for (const s of b.services) {
        const dport = `-m ${s.protocol} --dport ${s.port}`
        k('nat', `-A KUBE-SERVICES -d ${s.clusterIp}/32 -p ${s.protocol} -m comment --comment "${s.name} cluster IP" ${dport} -j ${svcChain(s)}`, `Service ${s.name}`)
        k('nat', `-A ${svcChain(s)} ! -s ${CLUSTER_CIDR} -d ${s.clusterIp}/32 -p ${s.protocol} -m comment --comment "${s.name} cluster IP" ${dport} -j KUBE-MARK-MASQ`, 'from outside the cluster CIDR: masquerade')
        s.endpoints.forEach((ep, i) => {
          const left = s.endpoints.length - i
          const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : ''
          k('nat', `-A ${svcChain(s)} -m comment --comment "${s.name} -> ${ep.ip}:${ep.port}"${pick} -j ${sepChain(s, ep)}`, `endpoint ${ep.pod}`)
        })
        for (const ep of s.endpoints) {
          k('nat', `-A ${sepChain(s, ep)} -s ${ep.ip}/32 -m comment --comment "${s.name}" -j KUBE-MARK-MASQ`, 'hairpin: the endpoint calling its own Service')
          k('nat', `-A ${sepChain(s, ep)} -p ${s.protocol} -m comment --comment "${s.name}" -m ${s.protocol} -j DNAT --to-destination ${ep.ip}:${ep.port}`, `DNAT to ${ep.pod}`)
        }
      }
      k('nat', '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS', 'NodePorts (none)')
      k('filter', '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP', 'invalid')
      k('filter', `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${MASQ_BIT}/${MASQ_BIT} -j ACCEPT`, 'accept what it marked')
      k('filter', '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', 'established')
      k('filter', `-A KUBE-SERVICES -d ${EMPTY.clusterIp}/32 -p tcp -m comment --comment "${EMPTY.name} has no endpoints" -m tcp --dport ${EMPTY.port} -j REJECT --reject-with icmp-port-unreachable`, `${EMPTY.name} has no endpoints`)
    }
    const [tcp, udp, local] = b.services as [VariantService, VariantService, VariantService]
    const remoteListeners = remote.map((e) => e.pod)
    b.flows.push(
      {kind: 'pod-to-service-tcp', description: `curl to the TCP Service ${tcp.clusterIp}:${tcp.port}: statistic picks httpbin or redis on node 2, DNAT to :80, no masquerade (the source is in the cluster CIDR)`, fromPod: curl.name, dst: tcp.clusterIp, dport: tcp.port, proto: 'tcp', expect: {connected: true, listeners: remoteListeners, peer: curl.ip}},
      {kind: 'pod-to-service-udp', description: `curl to the UDP Service ${udp.clusterIp}:${udp.port}: statistic picks httpbin or redis on node 2, DNAT to :80`, fromPod: curl.name, dst: udp.clusterIp, dport: udp.port, proto: 'udp', expect: {connected: true, listeners: remoteListeners, peer: curl.ip}},
      // The classic reason kube-proxy wants br_netfilter: nginx answers curl on the same bridge, so the SYN-ACK is
      // bridged straight back, never crosses conntrack, and arrives from nginx's address, not the Service's.
      {kind: 'pod-to-service-same-node', description: `curl to ${local.clusterIp}:${local.port}, whose endpoint nginx is on node 1: DNAT at PREROUTING, routed back onto cni0, bridged to nginx; nginx's answer is bridged straight back without the DNAT undone, so curl's socket never takes it`, fromPod: curl.name, dst: local.clusterIp, dport: local.port, proto: 'tcp', expect: {connected: false, replyNeverComesBack: true}},
      {kind: 'pod-to-service-no-endpoints', description: `curl to ${EMPTY.clusterIp}:${EMPTY.port} (${EMPTY.name}, no endpoints): rejected in filter KUBE-SERVICES (icmp port unreachable: refused)`, fromPod: curl.name, dst: EMPTY.clusterIp, dport: EMPTY.port, proto: 'tcp', expect: {connected: false, refused: true}},
    )
    return b.build()
  },
}
