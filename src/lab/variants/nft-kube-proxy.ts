/**
 * (c) `nft-kube-proxy`: kube-proxy in nftables mode on top of the bridge variant, on node 1: a native
 * `table ip kube-proxy` shaped like kube-proxy's (pkg/proxy/nftables/proxier.go): a `service-ips` verdict map from
 * address . protocol . port to the Service chain, `numgen random mod N vmap` choosing an endpoint chain, which
 * `dnat to`s it, and masquerade by mark (`mark-for-masquerade` ORs 0x4000, `masquerading` clears it and
 * masquerades). One TCP and one UDP Service, each with two endpoints on node 2. Like `--masquerade-all`, every
 * Service packet is marked for masquerade, so the endpoint sees node 1's flannel.1 address.
 */
import {kubeProxyChainHash} from '../topology.js'
import {BRIDGE_PODS, bridgeCni} from './bridge-cni.js'
import type {LabVariantDef, VariantService} from './variant-plan.js'

const KUBE_PROXY_TABLE = 'kube-proxy'
const MASQ_BIT = '0x00004000'

/** kube-proxy nftables' chain-name hash (hashAndTruncate): 8 characters of base32(sha256). */
const hash8 = (s: string) => kubeProxyChainHash(s).slice(0, 8)

/** `<ns>/<name>/<proto>/<port name>` of a ServicePortName `<ns>/<name>:<port name>`. */
const portPath = (svc: VariantService) => svc.name.replace(':', `/${svc.protocol}/`)

/** `service-<hash>-<ns>/<name>/<proto>/<port name>`. */
const serviceChain = (svc: VariantService) => `service-${hash8(svc.name + svc.protocol)}-${portPath(svc)}`

/** `endpoint-<hash>-<ns>/<name>/<proto>/<port name>__<ip>/<port>`. */
const endpointChain = (svc: VariantService, ep: {ip: string; port: number}) => `endpoint-${hash8(`${svc.name}${svc.protocol}${ep.ip}:${ep.port}`)}-${portPath(svc)}__${ep.ip}/${ep.port}`

/** The `nft -f` input for node 1 (its netns is new: the table is added once) and the chains it makes. */
function kubeProxyTable(services: readonly VariantService[]): {text: string; chains: string[]} {
  const chains = ['mark-for-masquerade', 'masquerading', 'services', 'nat-prerouting', 'nat-output', 'nat-postrouting']
  const lines = [
    `table ip ${KUBE_PROXY_TABLE} {`,
    '  comment "rules for kube-proxy"',
    '  chain mark-for-masquerade {',
    `    meta mark set meta mark | ${MASQ_BIT}`,
    '  }',
    '  chain masquerading {',
    `    meta mark & ${MASQ_BIT} == 0 return`,
    `    meta mark set meta mark ^ ${MASQ_BIT}`,
    '    masquerade fully-random',
    '  }',
    '  map service-ips {',
    '    type ipv4_addr . inet_proto . inet_service : verdict',
    '    comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"',
    `    elements = { ${services.map((s) => `${s.clusterIp} . ${s.protocol} . ${s.port} : goto ${serviceChain(s)}`).join(', ')} }`,
    '  }',
    '  chain services {',
    '    ip daddr . meta l4proto . th dport vmap @service-ips',
    '  }',
    '  chain nat-prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '    jump services',
    '  }',
    '  chain nat-output {',
    '    type nat hook output priority -100; policy accept;',
    '    jump services',
    '  }',
    '  chain nat-postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    '    jump masquerading',
    '  }',
  ]
  for (const s of services) {
    const c = serviceChain(s)
    chains.push(c)
    lines.push(`  chain ${c} {`, `    ip daddr ${s.clusterIp} ${s.protocol} dport ${s.port} jump mark-for-masquerade`)
    lines.push(`    numgen random mod ${s.endpoints.length} vmap { ${s.endpoints.map((ep, i) => `${i} : goto ${endpointChain(s, ep)}`).join(', ')} }`, '  }')
    for (const ep of s.endpoints) {
      const e = endpointChain(s, ep)
      chains.push(e)
      lines.push(`  chain ${e} {`, `    ip saddr ${ep.ip} jump mark-for-masquerade`, `    meta l4proto ${s.protocol} dnat to ${ep.ip}:${ep.port}`, '  }')
    }
  }
  lines.push('}')
  return {text: `${lines.join('\n')}\n`, chains}
}

export const nftKubeProxyVariant: LabVariantDef = {
  name: 'nft-kube-proxy',
  summary: 'kube-proxy in nftables mode on the bridge variant: table ip kube-proxy on node 1 with a service-ips vmap, numgen endpoint choice, dnat to, mark-for-masquerade; one TCP and one UDP Service',
  plan: (prefix) => {
    const b = bridgeCni('nft-kube-proxy', nftKubeProxyVariant.summary, prefix, {extraPods: ['redis']})
    const {curl, httpbin, redis} = BRIDGE_PODS
    const endpoints = [httpbin, redis].map((p) => ({pod: p.name, ip: p.ip, port: 80}))
    b.services.push({name: 'default/httpbin:http', clusterIp: '10.96.0.80', port: 80, protocol: 'tcp', endpoints}, {name: 'default/echo:dns', clusterIp: '10.96.0.53', port: 53, protocol: 'udp', endpoints})
    const {text, chains} = kubeProxyTable(b.services)
    b.nftTable({node: 'node1', family: 'ip', name: KUBE_PROXY_TABLE, chains, text})
    // Masquerade picks the output device's address (nf_nat_masquerade_ipv4, inet_select_addr): flannel.1's.
    const masqueradedAs = b.node('node1').overlay.address
    for (const s of b.services) {
      b.flows.push({
        kind: `pod-to-service-${s.protocol}`,
        description: `curl to the ${s.protocol.toUpperCase()} Service ${s.clusterIp}:${s.port} (${s.name}): numgen picks httpbin or redis on node 2, dnat to :80, masqueraded behind ${masqueradedAs}`,
        fromPod: curl.name,
        dst: s.clusterIp,
        dport: s.port,
        proto: s.protocol,
        expect: {connected: true, listeners: endpoints.map((e) => e.pod), peer: masqueradedAs},
      })
    }
    return b.build()
  },
}
