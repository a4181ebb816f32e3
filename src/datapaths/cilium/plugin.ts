import type {DatapathPlugin} from '../plugin.js'
import {emptyCiliumFacts, readCiliumMaps, type CiliumFacts} from './facts.js'
import {lookupIpcache} from './ipcache-lookup.js'
import type {CiliumMapName} from './map-names.js'
import {ciliumSemantics} from './semantics.js'
import {resolveCiliumTailCall} from './tail-calls.js'

/** Cilium's datapath (knowledge/programs.ts recognises its programs); `maps` restricts which of its maps are read. @internal tested directly (a test seam) */
export function ciliumPlugin(opts: {maps?: readonly CiliumMapName[]} = {}): DatapathPlugin<CiliumFacts> {
  return {
    name: 'cilium',
    recognises: (p) => p.recognition?.software === 'Cilium',
    emptyFacts: emptyCiliumFacts,
    readMaps: (input) => readCiliumMaps(input, opts.maps),
    extraProgramIds: (facts) => facts.policyCalls.map((e) => e.progId),
    semantics: ciliumSemantics,
    resolveTailCall: resolveCiliumTailCall,
    endpointOf(facts, ip) {
      const ep = facts.endpoints.find((e) => e.ip === ip && !e.isHost)
      return ep ? {ifindex: ep.ifindex, detail: `cilium_lxc: ${ep.ip} is endpoint ${ep.endpointId} on ifindex ${ep.ifindex}`} : undefined
    },
    tunnelEndpointOf(facts, ip) {
      const ep = lookupIpcache(facts.ipcache, ip)
      return ep?.tunnelEndpoint && ep.tunnelEndpoint !== '0.0.0.0' ? {remote: ep.tunnelEndpoint, how: `cilium_ipcache ${ep.prefix} tunnelendpoint=${ep.tunnelEndpoint}`} : undefined
    },
  }
}

export const cilium = ciliumPlugin()
