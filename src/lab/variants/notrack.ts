/**
 * (e) `notrack`: the bridge variant with a raw-table NOTRACK for the overlay's UDP port on both nodes (PREROUTING
 * and OUTPUT: the outer VXLAN packets are never tracked) and a DNAT in node 2's nat PREROUTING from httpbin's
 * :8080 to redis's :80. The decapsulated inner packet is tracked afresh (skb_scrub_packet -> nf_reset_ct when the
 * VXLAN device receives it, net/core/skbuff.c), so the DNAT applies to it.
 */
import {BRIDGE_PODS, bridgeCni} from './bridge-cni.js'
import type {LabVariantDef} from './variant-plan.js'

const DNAT_PORT = 8080

export const notrackVariant: LabVariantDef = {
  name: 'notrack',
  summary: 'the bridge variant with raw NOTRACK for the overlay UDP port on both nodes, and a DNAT in node 2 nat PREROUTING (httpbin:8080 -> redis:80)',
  plan: (prefix) => {
    const b = bridgeCni('notrack', notrackVariant.summary, prefix, {extraPods: ['redis']})
    const {curl, httpbin, redis} = BRIDGE_PODS
    for (const n of b.nodes) {
      const port = n.overlay.port
      b.xt(n.name, 'lab', 'raw', `-A PREROUTING -p udp -m udp --dport ${port} -j NOTRACK`, `outer VXLAN packets in: untracked`)
      b.xt(n.name, 'lab', 'raw', `-A OUTPUT -p udp -m udp --dport ${port} -j NOTRACK`, `outer VXLAN packets out: untracked`)
    }
    b.xt('node2', 'lab', 'nat', `-A PREROUTING -d ${httpbin.ip}/32 -p tcp -m tcp --dport ${DNAT_PORT} -j DNAT --to-destination ${redis.ip}:80`, `httpbin:${DNAT_PORT} is served by redis:80`)
    b.flows.push({
      kind: 'pod-to-pod-dnat-on-receiver',
      description: `curl to ${httpbin.ip}:${DNAT_PORT}: the outer packet is untracked, the inner one is NEW on node 2 and DNATed to redis ${redis.ip}:80`,
      fromPod: curl.name,
      dst: httpbin.ip,
      dport: DNAT_PORT,
      proto: 'tcp',
      expect: {connected: true, listeners: [redis.name], peer: curl.ip},
    })
    return b.build()
  },
}
