/**
 * `cilium_lxc`: the local endpoints (pods, and the node's own addresses), keyed by endpoint_key (endpoint-key.ts).
 * Its value, endpoint_info, 48 B: u32 ifindex, u16 unused, u16 lxc_id (the endpoint id), u32 flags (1 host,
 * 2 at host netns, 4/8 no-SNAT v4/v6), mac at 16 and node_mac at 24 (6 bytes each in a u64), sec_id at 32 and
 * parent_ifindex at 36 in newer versions (zero before).
 */
import {dumpProbe, ffield, leBytes, parseMapDumpEntries, sizeProblem, type DumpedMap} from '../../probes/bpftool-map.js'
import {problem} from '../../probes/parsed.js'
import type {Parsed} from '../../model/warning.js'
import {macStr, type IpFamily} from './addresses.js'
import {ipFromBytes} from '../../util/ip.js'
import {ENDPOINT_KEY_SIZE, endpointKey} from './endpoint-key.js'

export interface CiliumEndpoint {
  ip: string
  family: IpFamily
  /** The endpoint key's `key` field, printed after the colon by Cilium (`10.42.0.51:0`). */
  keyIndex: number
  clusterId?: number
  /** lxc_id: Cilium's endpoint id, also the endpoint's slot in cilium_call_policy. */
  endpointId: number
  /** The host-side device (lxc…) of the endpoint. */
  ifindex: number
  /** The pod's own MAC (its eth0). */
  mac: string
  /** The host-side device's MAC. */
  nodeMac: string
  flags: number
  /** ENDPOINT_F_HOST: an address of the node itself (`(localhost)` in `cilium bpf endpoint list`). */
  isHost: boolean
  /** sec_id of newer versions, when non-zero. */
  securityIdentity?: number
  parentIfindex?: number
}

const ENDPOINT_INFO_SIZE = 48

/**
 * `bpftool -j map dump id N` of cilium_lxc, e.g. the raw form of SCENARIO's node-2 entry
 * `10.42.0.51:0 id=2826 flags=0x0000 ifindex=29 mac=96:86:44:A6:37:EC nodemac=D2:AD:65:4D:D0:7B`:
 * key `0a 2a 00 33` + 12 zero bytes + `01 00 00 00`, value `1d 00 00 00 00 00 0a 0b 00 00 00 00 …`.
 */
export function parseCiliumLxcDump(text: string, map?: DumpedMap): Parsed<CiliumEndpoint[]> {
  const probe = dumpProbe(map, 'cilium_lxc')
  const {entries, problems} = parseMapDumpEntries(probe, text)
  const facts: CiliumEndpoint[] = []
  const sp = sizeProblem(probe, 'cilium_lxc', map, entries[0], ENDPOINT_KEY_SIZE, ENDPOINT_INFO_SIZE)
  if (sp) return {facts, problems: [...problems, sp]}
  for (const e of entries) {
    const k = endpointKey(probe, e, 'cilium_lxc')
    if ('message' in k) {
      problems.push(k)
      continue
    }
    let ifindex: number | undefined
    let endpointId: number | undefined
    let flags: number | undefined
    let mac: Buffer | undefined
    let nodeMac: Buffer | undefined
    let secId = 0
    let parent = 0
    if (e.value) {
      if (e.value.length !== ENDPOINT_INFO_SIZE) {
        problems.push(problem(probe, `cilium_lxc value of ${e.value.length} bytes: no known layout (expected ${ENDPOINT_INFO_SIZE})`, undefined, e.raw))
        continue
      }
      ifindex = e.value.readUInt32LE(0)
      endpointId = e.value.readUInt16LE(6)
      flags = e.value.readUInt32LE(8)
      mac = e.value.subarray(16, 22)
      nodeMac = e.value.subarray(24, 30)
      secId = e.value.readUInt32LE(32)
      parent = e.value.readUInt32LE(36)
    } else {
      const v = e.fvalue
      ifindex = ffield(v, 'ifindex')
      endpointId = ffield(v, 'lxc_id')
      flags = ffield(v, 'flags')
      const m = ffield(v, 'mac')
      const nm = ffield(v, 'node_mac')
      if (m !== undefined) mac = leBytes(m, 6)
      if (nm !== undefined) nodeMac = leBytes(nm, 6)
      secId = ffield(v, 'sec_id') ?? 0
      parent = ffield(v, 'parent_ifindex') ?? 0
    }
    if (ifindex === undefined || endpointId === undefined || flags === undefined || !mac || !nodeMac) {
      problems.push(problem(probe, 'cilium_lxc value lacks ifindex, lxc_id, flags or a MAC', undefined, e.raw))
      continue
    }
    const ep: CiliumEndpoint = {
      ip: ipFromBytes(k.family, k.addr),
      family: k.family,
      keyIndex: k.b17,
      endpointId,
      ifindex,
      mac: macStr(mac, 0),
      nodeMac: macStr(nodeMac, 0),
      flags,
      isHost: (flags & 1) !== 0,
    }
    if (k.b18) ep.clusterId = k.b18
    if (secId) ep.securityIdentity = secId
    if (parent) ep.parentIfindex = parent
    facts.push(ep)
  }
  return {facts, problems}
}
