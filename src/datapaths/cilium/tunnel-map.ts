/** `cilium_tunnel_map` (Cilium <= 1.14-ish): a remote pod CIDR -> the node to tunnel to. */
import {dumpProbe, ffield, parseMapDumpEntries, sizeProblem, type DumpedMap} from '../../probes/bpftool-map.js'
import {problem} from '../../probes/parsed.js'
import type {Parsed} from '../../model/warning.js'
import {faddr, familyOf, type IpFamily} from './addresses.js'
import {ipFromBytes} from '../../util/ip.js'
import {ENDPOINT_KEY_SIZE, endpointKey} from './endpoint-key.js'

export interface CiliumTunnelEntry {
  /** The key address: a remote node's pod CIDR base address (the datapath masks the destination first). */
  ip: string
  family: IpFamily
  /** Key byte 17: cluster_id in 1.14's tunnel_key (the endpoint_key's `key` of <= 1.12, left 0 there). */
  clusterId?: number
  tunnelEndpoint: string
  encryptKey: number
  /** Value bytes 18-19 (tunnel_value.node_id, 1.13+), when non-zero. */
  nodeId?: number
}

/** `bpftool -j map dump id N` of cilium_tunnel_map: key and value both 20 bytes (endpoint_key, or tunnel_key/tunnel_value). */
export function parseCiliumTunnelDump(text: string, map?: DumpedMap): Parsed<CiliumTunnelEntry[]> {
  const probe = dumpProbe(map, 'cilium_tunnel_map')
  const {entries, problems} = parseMapDumpEntries(probe, text)
  const facts: CiliumTunnelEntry[] = []
  const sp = sizeProblem(probe, 'cilium_tunnel_map', map, entries[0], ENDPOINT_KEY_SIZE, ENDPOINT_KEY_SIZE)
  if (sp) return {facts, problems: [...problems, sp]}
  for (const e of entries) {
    const k = endpointKey(probe, e, 'cilium_tunnel_map')
    if ('message' in k) {
      problems.push(k)
      continue
    }
    let vfam: IpFamily | undefined
    let vaddr: Buffer | undefined
    let encryptKey = 0
    let nodeId = 0
    if (e.value) {
      if (e.value.length !== ENDPOINT_KEY_SIZE) {
        problems.push(problem(probe, `cilium_tunnel_map value of ${e.value.length} bytes: no known layout (expected ${ENDPOINT_KEY_SIZE})`, undefined, e.raw))
        continue
      }
      vfam = familyOf(e.value.readUInt8(16))
      vaddr = e.value.subarray(0, 16)
      encryptKey = e.value.readUInt8(17)
      nodeId = e.value.readUInt16LE(18)
    } else {
      vfam = familyOf(ffield(e.fvalue, 'family'))
      vaddr = faddr(e.fvalue)
      encryptKey = ffield(e.fvalue, 'key') ?? 0
      nodeId = ffield(e.fvalue, 'node_id') ?? 0
    }
    if (!vfam || !vaddr) {
      problems.push(problem(probe, 'cilium_tunnel_map value with unknown family', undefined, e.raw))
      continue
    }
    const t: CiliumTunnelEntry = {ip: ipFromBytes(k.family, k.addr), family: k.family, tunnelEndpoint: ipFromBytes(vfam, vaddr), encryptKey}
    const cid = e.key ? k.b17 : (ffield(e.fkey, 'cluster_id') ?? 0)
    if (cid) t.clusterId = cid
    if (nodeId) t.nodeId = nodeId
    facts.push(t)
  }
  return {facts, problems}
}
