/**
 * (b) `routed`: Calico-style routed /32 pods. No bridge: each pod's veth host end (`cali` + 11 hex digits, MAC
 * ee:ee:ee:ee:ee:ee, no address) answers the pod's ARP for the link-local gateway 169.254.1.1 by proxy ARP, the
 * host routes `<pod>/32 dev caliXXXXXXXXXXX scope link`, and the other node's IPAM block is routed over
 * `vxlan.calico` (VNI 4096, UDP 4789, Felix's defaults) `via <its tunnel address> onlink`. The iptables chains are
 * the lab's own in Felix's shapes (cali-PREROUTING, cali-INPUT, cali-FORWARD, workload dispatch, nat-outgoing).
 */
import {createHash} from 'node:crypto'
import {VariantPlanBuilder} from './plan-builder.js'
import type {LabVariantDef} from './variant-plan.js'

/** The cluster's IP pool (Calico's default is 192.168.0.0/16, which is the lab's underlay: the lab picks another). */
const CALICO_POOL = '10.65.0.0/16'
const CALICO_VXLAN = {dev: 'vxlan.calico', vni: 4096, port: 4789}
/** Calico's link-local default gateway for every pod, and the fixed MAC of every host-side veth. */
const CALICO_GATEWAY = '169.254.1.1'
const CALICO_HOST_MAC = 'ee:ee:ee:ee:ee:ee'
/** The underlay's (absent) router: the nodes' default route. Proxy ARP only answers for a routable address. */
const UNDERLAY_GATEWAY = '192.168.1.1'
/** Felix's mark bits: accept (0x10000), and the "from a workload" bit of its raw chain (0x40000). */
const CALI_ACCEPT = '0x10000'

const PODS = {
  curl: {name: 'curl', node: 'node1', ip: '10.65.136.5', hostDev: 'cali1b4e0c7a9d2'},
  httpbin: {name: 'httpbin', node: 'node2', ip: '10.65.209.70', hostDev: 'cali7f3a85d6c01', listener: {port: 80}},
} as const

/** Felix's rule comments: "cali:" and 16 characters of a hash of the rule (deterministic, like Felix's). */
const caliId = (rule: string) => `cali:${createHash('sha256').update(rule).digest('base64url').slice(0, 16)}`

export const routedVariant: LabVariantDef = {
  name: 'routed',
  summary: 'Calico-style routed /32 pods: proxy-ARP gateway 169.254.1.1, host routes <pod>/32 dev caliXXXX, VXLAN vxlan.calico (VNI 4096, UDP 4789), Calico-shaped iptables chains',
  plan: (prefix) => {
    const b = new VariantPlanBuilder('routed', routedVariant.summary, prefix, CALICO_VXLAN, [
      {underlayIp: '192.168.1.12', podCidr: '10.65.136.0/26', overlayAddress: '10.65.136.0', overlayMac: '66:c8:5e:01:88:00'},
      {underlayIp: '192.168.1.13', podCidr: '10.65.209.64/26', overlayAddress: '10.65.209.64', overlayMac: '66:c8:5e:02:d1:40'},
    ])
    for (const n of b.nodes) b.nodeRoute(n.name, `route add default via ${UNDERLAY_GATEWAY} dev eth0 onlink`, {netns: n.netns, dst: 'default', dev: 'eth0'})
    for (const s of [PODS.curl, PODS.httpbin]) b.routedPod({...s}, CALICO_GATEWAY, CALICO_HOST_MAC)
    for (const n of b.nodes) {
      const x = (table: 'raw' | 'mangle' | 'nat' | 'filter', rule: string, purpose: string) => {
        // Felix writes its comment first: -A CHAIN -m comment --comment "cali:…" <matches> -j …
        const [head, ...rest] = rule.split(' ')
        const chain = rest[0]!
        b.xt(n.name, 'calico', table, [head, chain, '-m comment --comment', `"${caliId(`${n.name} ${table} ${rule}`)}"`, ...rest.slice(1)].join(' '), purpose)
      }
      const pods = b.pods.filter((p) => p.node === n.name)
      x('raw', '-A PREROUTING -j cali-PREROUTING', 'feeder')
      x('raw', '-A OUTPUT -j cali-OUTPUT', 'feeder')
      x('raw', '-A cali-PREROUTING -j MARK --set-xmark 0x0/0xf0000', "clear Felix's mark bits")
      x('raw', '-A cali-PREROUTING -i cali+ -j MARK --set-xmark 0x40000/0x40000', 'from a workload')
      x('raw', '-A cali-PREROUTING -m mark --mark 0x40000/0x40000 -m rpfilter --validmark --invert -j DROP', 'strict reverse-path check for workloads (Felix does it here, not by rp_filter)')
      x('raw', '-A cali-OUTPUT -j MARK --set-xmark 0x0/0xf0000', "clear Felix's mark bits")
      x('mangle', '-A PREROUTING -j cali-PREROUTING', 'feeder')
      x('mangle', '-A cali-PREROUTING -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', 'established')
      x('mangle', `-A cali-PREROUTING -m mark --mark ${CALI_ACCEPT}/${CALI_ACCEPT} -j ACCEPT`, 'already accepted')
      x('nat', '-A POSTROUTING -j cali-POSTROUTING', 'feeder')
      x('nat', '-A cali-POSTROUTING -j cali-nat-outgoing', 'nat-outgoing')
      x('nat', `-A cali-nat-outgoing -s ${CALICO_POOL} ! -d ${CALICO_POOL} -j MASQUERADE --random-fully`, 'pool traffic leaving the pool (Felix matches an ipset; the lab has one pool, written as a CIDR)')
      x('filter', '-A INPUT -j cali-INPUT', 'feeder')
      x('filter', '-A FORWARD -j cali-FORWARD', 'feeder')
      x('filter', `-A cali-INPUT -p udp -s 192.168.1.0/24 -m udp --dport ${CALICO_VXLAN.port} -m addrtype --dst-type LOCAL -j ACCEPT`, 'VXLAN from the other nodes (Felix: an ipset of node addresses)')
      x('filter', '-A cali-FORWARD -j MARK --set-xmark 0x0/0xe0000', "clear Felix's policy bits")
      x('filter', '-A cali-FORWARD -i cali+ -j cali-from-wl-dispatch', 'from a workload')
      x('filter', '-A cali-FORWARD -o cali+ -j cali-to-wl-dispatch', 'to a workload')
      x('filter', `-A cali-FORWARD -m mark --mark ${CALI_ACCEPT}/${CALI_ACCEPT} -j ACCEPT`, 'policy accepted')
      for (const p of pods) x('filter', `-A cali-from-wl-dispatch -i ${p.hostDev} -g cali-fw-${p.hostDev}`, `${p.name}'s egress policy`)
      for (const p of pods) x('filter', `-A cali-to-wl-dispatch -o ${p.hostDev} -g cali-tw-${p.hostDev}`, `${p.name}'s ingress policy`)
      for (const p of pods) {
        for (const dir of ['fw', 'tw']) {
          const c = `cali-${dir}-${p.hostDev}`
          x('filter', `-A ${c} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, 'established')
          x('filter', `-A ${c} -m conntrack --ctstate INVALID -j DROP`, 'invalid')
          x('filter', `-A ${c} -j MARK --set-xmark ${CALI_ACCEPT}/${CALI_ACCEPT}`, 'the policy allows all: mark accepted')
        }
      }
    }
    b.flows.push({
      kind: 'pod-to-pod-cross-node',
      description: `curl (node 1) to httpbin (node 2): routed /32 via proxy ARP, over ${CALICO_VXLAN.dev} (UDP ${CALICO_VXLAN.port})`,
      fromPod: PODS.curl.name,
      dst: PODS.httpbin.ip,
      dport: 80,
      proto: 'tcp',
      expect: {connected: true, listeners: [PODS.httpbin.name], peer: PODS.curl.ip},
    })
    return b.build()
  },
}
