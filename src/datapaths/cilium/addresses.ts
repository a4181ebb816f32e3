/** Addresses and MACs in Cilium's map layouts: the family byte of its keys and the BTF-formatted address unions. */
import {fnum, leBytes} from '../../probes/bpftool-map.js'
import {isJsonObject} from '../../util/json.js'

export type IpFamily = 'ipv4' | 'ipv6'

/** Cilium's ENDPOINT_KEY_IPV4 / ENDPOINT_KEY_IPV6. */
export function familyOf(n: number | undefined): IpFamily | undefined {
  return n === 1 ? 'ipv4' : n === 2 ? 'ipv6' : undefined
}

export const isZero = (b: Buffer) => b.every((x) => x === 0)
export const macStr = (b: Buffer, off: number) => Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':')

/** The 16 address bytes of a formatted address union: its `addr` array, else its `ip4` (IPv4 in the first four bytes). */
export function faddr(o: unknown, depth = 0): Buffer | undefined {
  if (!isJsonObject(o) || depth > 4) return undefined
  const a = o.addr
  if (Array.isArray(a) && a.length === 16 && a.every((x) => typeof x === 'number')) return Buffer.from(a as number[])
  for (const v of Object.values(o)) {
    const found = faddr(v, depth + 1)
    if (found) return found
  }
  const ip4 = fnum(o.ip4)
  return ip4 === undefined ? undefined : Buffer.concat([leBytes(ip4, 4), Buffer.alloc(12)])
}
