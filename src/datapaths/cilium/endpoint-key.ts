/**
 * endpoint_key (`cilium_lxc` key, and key and value of the <= 1.12 tunnel map), 20 B: 16-byte address, u8
 * family, u8 key, then cluster_id u8 (newer) or pad. tunnel_key/tunnel_value (1.13+ tunnel map) have the same
 * size: byte 17 is cluster_id (key) or the IPsec key (value), bytes 18-19 the node id (value).
 */
import {ffield, type DumpEntry} from '../../probes/bpftool-map.js'
import {problem} from '../../probes/parsed.js'
import type {ParseProblem} from '../../model/warning.js'
import {faddr, familyOf, type IpFamily} from './addresses.js'

export const ENDPOINT_KEY_SIZE = 20

export function endpointKey(probe: string, e: DumpEntry, what: string): {family: IpFamily; addr: Buffer; b17: number; b18: number} | ParseProblem {
  let famNum: number | undefined
  let addr: Buffer | undefined
  let b17 = 0
  let b18 = 0
  if (e.key) {
    if (e.key.length !== ENDPOINT_KEY_SIZE) return problem(probe, `${what} key of ${e.key.length} bytes: no known layout (expected ${ENDPOINT_KEY_SIZE})`, undefined, e.raw)
    addr = e.key.subarray(0, 16)
    famNum = e.key.readUInt8(16)
    b17 = e.key.readUInt8(17)
    b18 = e.key.readUInt8(18)
  } else {
    famNum = ffield(e.fkey, 'family')
    addr = faddr(e.fkey)
    b17 = ffield(e.fkey, 'key', 'cluster_id') ?? 0
    b18 = 'key' in (e.fkey ?? {}) ? (ffield(e.fkey, 'cluster_id') ?? 0) : 0
  }
  const family = familyOf(famNum)
  if (!family || !addr) return problem(probe, `${what} key with unknown family ${famNum}`, undefined, e.raw)
  return {family, addr, b17, b18}
}

