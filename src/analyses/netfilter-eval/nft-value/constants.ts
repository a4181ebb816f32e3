/** The constants on the right of a match and in sets, read with the type of what they are compared with. */
import {parseIp, prefixMask} from '../addr.js'
import {protoNumber} from '../state.js'
import type {Scalar} from './value.js'
import {isJsonObject} from '../../../util/json.js'

/** nft's ct state bits (NF_CT_STATE_BIT: 1 << (ctinfo + 1), invalid 1, untracked 64). */
export const CT_STATE_BITS: Readonly<Record<string, bigint>> = {invalid: 1n, established: 2n, related: 4n, new: 8n, untracked: 64n}
/** enum ip_conntrack_status bits nft names. */
export const CT_STATUS_BITS: Readonly<Record<string, bigint>> = {expected: 1n, 'seen-reply': 2n, assured: 4n, confirmed: 8n, snat: 16n, dnat: 32n, dying: 512n}
export const TCP_FLAG_BITS: Readonly<Record<string, bigint>> = {fin: 1n, syn: 2n, rst: 4n, psh: 8n, ack: 16n, urg: 32n, ecn: 64n, cwr: 128n}

/** One constant of a set or the right side: equal to a value, or a closed range (prefixes become ranges). */
export type Atom = {kind: 'eq'; v: bigint | string} | {kind: 'range'; lo: bigint; hi: bigint} | {kind: 'ifprefix'; prefix: string}

/** Parse a constant with the type of the value it is compared with. Undefined when it cannot be read. */
export function constScalar(like: Scalar, c: unknown): Atom | undefined {
  if (isJsonObject(c)) {
    if (isJsonObject(c.prefix)) {
      const base = constScalar(like, c.prefix.addr)
      const len = Number(c.prefix.len)
      if (!base || base.kind !== 'eq' || typeof base.v !== 'bigint' || !Number.isInteger(len)) return undefined
      const bits = like.bits ?? 32
      const mask = prefixMask(len, bits)
      const lo = base.v & mask
      return {kind: 'range', lo, hi: lo | (((1n << BigInt(bits)) - 1n) & ~mask)}
    }
    if (Array.isArray(c.range) && c.range.length === 2) {
      const a = constScalar(like, c.range[0])
      const b = constScalar(like, c.range[1])
      if (a?.kind !== 'eq' || b?.kind !== 'eq' || typeof a.v !== 'bigint' || typeof b.v !== 'bigint') return undefined
      return {kind: 'range', lo: a.v, hi: b.v}
    }
    return undefined
  }
  switch (like.type) {
    case 'addr': {
      if (typeof c !== 'string') return undefined
      const ip = parseIp(c)
      return ip && ip.bits === (like.bits ?? ip.bits) ? {kind: 'eq', v: ip.v} : undefined
    }
    case 'int':
      return intConst(c)
    case 'proto': {
      const n = typeof c === 'number' || typeof c === 'string' ? protoNumber(c) : undefined
      return n === undefined ? undefined : {kind: 'eq', v: BigInt(n)}
    }
    case 'ifname': {
      if (typeof c !== 'string') return undefined
      // nft prints a wildcard as a trailing `*` ("eth*"); `\*` is a literal star.
      if (c.endsWith('*') && !c.endsWith('\\*')) return {kind: 'ifprefix', prefix: c.slice(0, -1)}
      return {kind: 'eq', v: c.replace(/\\\*$/, '*')}
    }
    case 'ctstate':
      return flagConst(c, CT_STATE_BITS)
    case 'ctstatus':
      return flagConst(c, CT_STATUS_BITS)
    case 'tcpflags':
      return flagConst(c, TCP_FLAG_BITS)
    case 'icmptype':
    case 'icmpv6type': {
      if (typeof c === 'number') return {kind: 'eq', v: BigInt(c)}
      const n = typeof c === 'string' ? (like.type === 'icmptype' ? ICMP_TYPES : ICMPV6_TYPES)[c] : undefined
      return n === undefined ? undefined : {kind: 'eq', v: BigInt(n)}
    }
    case 'fiboif':
      // `fib … oif missing`: nft prints the missing result as false; iptables-nft's rpfilter translation compares
      // with oif 0 (Calico 3.30: `fib saddr . mark . iif oif 0`), printed as "0".
      if (c === false || c === 0 || c === '0') return {kind: 'eq', v: '\u0000missing'}
      return typeof c === 'string' ? {kind: 'eq', v: c} : undefined
    case 'str':
      return typeof c === 'string' ? {kind: 'eq', v: c} : undefined
  }
}

export function intConst(c: unknown): Atom | undefined {
  if (typeof c === 'number' && Number.isInteger(c) && c >= 0) return {kind: 'eq', v: BigInt(c)}
  if (typeof c === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(c)) return {kind: 'eq', v: BigInt(c)}
  return undefined
}

function flagConst(c: unknown, bits: Readonly<Record<string, bigint>>): Atom | undefined {
  const names = Array.isArray(c) ? c : [c]
  let v = 0n
  for (const n of names) {
    if (typeof n === 'number') v |= BigInt(n)
    else if (typeof n === 'string' && bits[n] !== undefined) v |= bits[n]!
    else return undefined
  }
  return {kind: 'eq', v}
}

const ICMP_TYPES: Readonly<Record<string, number>> = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  'source-quench': 4,
  redirect: 5,
  'echo-request': 8,
  'router-advertisement': 9,
  'router-solicitation': 10,
  'time-exceeded': 11,
  'parameter-problem': 12,
  'timestamp-request': 13,
  'timestamp-reply': 14,
  'info-request': 15,
  'info-reply': 16,
  'address-mask-request': 17,
  'address-mask-reply': 18,
}
const ICMPV6_TYPES: Readonly<Record<string, number>> = {
  'destination-unreachable': 1,
  'packet-too-big': 2,
  'time-exceeded': 3,
  'parameter-problem': 4,
  'echo-request': 128,
  'echo-reply': 129,
  'mld-listener-query': 130,
  'mld-listener-report': 131,
  'mld-listener-done': 132,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
  'nd-redirect': 137,
  'mld2-listener-report': 143,
}

export function atomHas(a: Atom, s: Scalar): boolean {
  if (a.kind === 'eq') return a.v === s.v
  if (a.kind === 'ifprefix') return typeof s.v === 'string' && s.v.startsWith(a.prefix)
  return typeof s.v === 'bigint' && s.v >= a.lo && s.v <= a.hi
}

