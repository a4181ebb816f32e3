/**
 * Address arithmetic for matches: prefixes, dotted (possibly non-contiguous) masks, ranges, address types.
 * Addresses are bigints so IPv4 and IPv6 share one code path.
 */
import {ipToBig} from '../../util/ip.js'

export interface Ip {
  v: bigint
  bits: 32 | 128
}

export function parseIp(s: string): Ip | undefined {
  return ipToBig(s.trim())
}

export function familyBits(family: 'ipv4' | 'ipv6'): 32 | 128 {
  return family === 'ipv4' ? 32 : 128
}

/** The mask of a prefix length: /24 on 32 bits → 0xffffff00. */
export function prefixMask(len: number, bits: 32 | 128): bigint {
  if (len <= 0) return 0n
  const all = (1n << BigInt(bits)) - 1n
  return (all >> BigInt(bits - len)) << BigInt(bits - len)
}

/**
 * `-s 10.0.0.0/255.0.255.0` keeps its dotted mask when it is not a prefix (iptables applies any mask bitwise:
 * ip_packet_match compares `(saddr & smsk) != src`). IPv6 masks come in colon form.
 */
export function maskFromText(text: string, bits: 32 | 128): bigint | undefined {
  const m = parseIp(text)
  return m && m.bits === bits ? m.v : undefined
}

/** `(addr & mask) == (base & mask)`. */
export function maskedEqual(addr: Ip, base: Ip, mask: bigint): boolean {
  return addr.bits === base.bits && (addr.v & mask) === (base.v & mask)
}

export function inPrefix(addr: Ip, base: Ip, len: number): boolean {
  return maskedEqual(addr, base, prefixMask(len, base.bits))
}

export function inRange(addr: Ip, from: Ip, to: Ip): boolean {
  return addr.bits === from.bits && from.bits === to.bits && addr.v >= from.v && addr.v <= to.v
}

const LOOPBACK4 = parseIp('127.0.0.0')!
const MULTICAST4 = parseIp('224.0.0.0')!
const MULTICAST6 = parseIp('ff00::')!
const BROADCAST4 = parseIp('255.255.255.255')!

/**
 * The route type of an address as `-m addrtype` and `fib … type` see it, from what we know without the routing
 * table: LOCAL (ctx.localAddresses, 127.0.0.0/8 and ::1, which the kernel's local table always holds), MULTICAST,
 * BROADCAST (255.255.255.255 only: a subnet broadcast address needs the routes), UNSPEC (0.0.0.0, ::); anything
 * else is assumed UNICAST, and `assumed` says so.
 */
export function addressType(addr: Ip, local: readonly Ip[]): {type: 'LOCAL' | 'MULTICAST' | 'BROADCAST' | 'UNSPEC' | 'UNICAST'; assumed: boolean} {
  if (local.some((l) => l.bits === addr.bits && l.v === addr.v)) return {type: 'LOCAL', assumed: false}
  if (addr.bits === 32) {
    if (inPrefix(addr, LOOPBACK4, 8)) return {type: 'LOCAL', assumed: false}
    if (inPrefix(addr, MULTICAST4, 4)) return {type: 'MULTICAST', assumed: false}
    if (addr.v === BROADCAST4.v) return {type: 'BROADCAST', assumed: false}
  } else {
    if (addr.v === 1n) return {type: 'LOCAL', assumed: false}
    if (inPrefix(addr, MULTICAST6, 8)) return {type: 'MULTICAST', assumed: false}
  }
  if (addr.v === 0n) return {type: 'UNSPEC', assumed: false}
  return {type: 'UNICAST', assumed: true}
}

/** `10.42.0.51`, `[2001:db8::1]` with a port: `10.42.0.51:80`, `[2001:db8::1]:80`. */
export function formatAddrPort(addr: string, port?: number): string {
  if (port === undefined) return addr
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`
}
