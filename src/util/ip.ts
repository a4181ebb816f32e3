/**
 * The one place IP addresses are parsed, formatted and compared with prefixes, built on ipaddr.js. Text in is
 * strict: IPv4 as four decimal octets (no leading zeros, no short or hex forms), IPv6 with an optional dotted
 * tail, never a zone (`%eth0`) or a prefix. Text out is what iproute2 prints (inet_ntop): RFC 5952.
 */
import {createRequire} from 'node:module'
import type * as IpaddrModule from 'ipaddr.js'

// Loaded with require: importing this CommonJS package as ESM makes Node scan its source for named exports first,
// 29 ms of start-up against 3 ms (measured here, Node 20).
const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof IpaddrModule

export type IpFamily = 'ipv4' | 'ipv6'

type Address = IpaddrModule.IPv4 | IpaddrModule.IPv6

/**
 * Four decimal octets, no leading zeros (`10.96.3.231`), as a 32-bit number; undefined for anything else. By hand:
 * ipaddr.js's regex parse costs ~5 µs an address, and a kube-proxy walk reads 10k+ of them.
 */
function ipv4Number(text: string): number | undefined {
  const n = text.length
  if (n < 7 || n > 15) return undefined
  let v = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined
      v = v * 256 + octet
      octet = 0
      digits = 0
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return undefined
      octet = octet * 10 + (c - 48)
      if (++digits > 3 || octet > 255) return undefined
    } else return undefined
  }
  if (dots !== 3 || digits === 0) return undefined
  return v * 256 + octet
}

/** ipaddr.js alone also takes `010.1`, `0x0a.0.0.1` and zones, which no tool prints for an address. */
function parse(text: string): Address | undefined {
  const v4 = ipv4Number(text)
  if (v4 !== undefined) return new ipaddr.IPv4([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255])
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text)
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined
  const dotted = text.includes('.')
  if (dotted && !ipaddr.IPv4.isValidFourPartDecimal(text.slice(text.lastIndexOf(':') + 1))) return undefined
  // ipaddr.js reads `::a.b.c.d` as the IPv4-mapped ::ffff:a.b.c.d; it is the IPv4-compatible address, ::/96
  // (RFC 4291 §2.5.5.1). A leading `0` keeps it so.
  const t = dotted && text.startsWith('::') ? `0${text}` : text
  return ipaddr.IPv6.isValid(t) ? ipaddr.IPv6.parse(t) : undefined
}

export function familyOf(ip: string): IpFamily | undefined {
  return parse(ip)?.kind()
}

/** Parse an IPv4 or IPv6 address (no zone, no prefix) into its bytes, in network order. */
export function parseIpAddress(s: string): {family: IpFamily; bytes: Buffer} | undefined {
  const a = parse(s)
  return a && {family: a.kind(), bytes: Buffer.from(a.toByteArray())}
}

/**
 * An address's text from its bytes (4 for IPv4, 16 for IPv6, read at `offset`), as inet_ntop prints it and so
 * as `ip -j` does: RFC 5952 (lower case, the longest run of two or more zero groups as `::`, the leftmost of equal
 * runs), with an IPv4-mapped address in the mixed form `::ffff:10.1.2.3` (RFC 5952 §5).
 */
export function formatIp(family: IpFamily, bytes: Uint8Array, offset = 0): string {
  const a = ipaddr.fromByteArray(Array.from(bytes.subarray(offset, offset + (family === 'ipv4' ? 4 : 16))))
  if (a.kind() === 'ipv4') return a.toString()
  const v6 = a as IpaddrModule.IPv6
  return v6.isIPv4MappedAddress() ? `::ffff:${v6.toIPv4Address().toString()}` : v6.toRFC5952String()
}

/** A prefix of one family: `10.42.0.0/24`, or `default` (length 0). */
export interface Prefix {
  family: IpFamily
  address: Address
  len: number
}

/** `10.42.0.0/24`, `::/0`: the address as written, its family and the length; undefined unless both are valid. */
export function parseCidr(text: string): {address: string; family: IpFamily; prefixLen: number} | undefined {
  const slash = text.indexOf('/')
  if (slash < 0) return undefined
  const address = text.slice(0, slash)
  const len = text.slice(slash + 1)
  const family = familyOf(address)
  if (!family || !/^\d{1,3}$/.test(len) || Number(len) > (family === 'ipv4' ? 32 : 128)) return undefined
  return {address, family, prefixLen: Number(len)}
}

/** "10.42.0.0/24", "10.42.0.51" (a host), "default" (for the given family). */
export function parsePrefix(s: string, family: IpFamily): Prefix | undefined {
  if (s === 'default') return {family, address: family === 'ipv4' ? ipaddr.IPv4.parse('0.0.0.0') : ipaddr.IPv6.parse('::'), len: 0}
  if (s.includes('/')) {
    const c = parseCidr(s)
    return c?.family === family ? {family, address: parse(c.address)!, len: c.prefixLen} : undefined
  }
  const address = parse(s)
  return address?.kind() === family ? {family, address, len: family === 'ipv4' ? 32 : 128} : undefined
}

export function prefixContains(p: Prefix, ip: string): boolean {
  const x = parse(ip)
  if (!x || x.kind() !== p.family) return false
  // ipaddr.js's match compares the first `len` bits of both (matchCIDR); the address's own host bits never count.
  return p.len === 0 || (x.kind() === 'ipv4' ? (x as IpaddrModule.IPv4).match(p.address as IpaddrModule.IPv4, p.len) : (x as IpaddrModule.IPv6).match(p.address as IpaddrModule.IPv6, p.len))
}

/** `255.255.255.0` → 24; undefined for a mask that is not contiguous (iptables keeps those as masks). */
export function maskPrefixLength(mask: string): number | undefined {
  const m = parse(mask)
  return m?.prefixLengthFromSubnetMask() ?? undefined
}

/**
 * An address as a bigint plus its width (32 or 128): for iptables' masks, which may be any bit pattern
 * (ip_packet_match compares `(saddr & smsk) != src`), so prefix math cannot express them.
 */
export function ipToBig(ip: string): {v: bigint; bits: 32 | 128} | undefined {
  const v4 = ipv4Number(ip)
  if (v4 !== undefined) return {v: BigInt(v4), bits: 32}
  const a = parse(ip)
  if (!a) return undefined
  return {v: a.toByteArray().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n), bits: a.kind() === 'ipv4' ? 32 : 128}
}

/** An address's text from its bytes in network order (4 for IPv4, 16 for IPv6, at `off`); IPv6 as RFC 5952 (lower case, the longest run of two or more zero groups as "::"). */
export function ipFromBytes(family: 'ipv4' | 'ipv6', b: Uint8Array, off = 0): string {
  if (family === 'ipv4') return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`
  const g = Array.from({length: 8}, (_, i) => (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!)
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = g.map((x) => x.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

/** An IPv4 or IPv6 address (no zone, no prefix) as its bytes in network order. */
export function ipToBytes(s: string): {family: 'ipv4' | 'ipv6'; bytes: Buffer} | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (v4) {
    const parts = v4.slice(1).map(Number)
    return parts.every((x) => x <= 255) ? {family: 'ipv4', bytes: Buffer.from(parts)} : undefined
  }
  if (!/^[0-9a-f:.]+$/i.test(s) || !s.includes(':')) return undefined
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const groups = (h: string): number[] | undefined => {
    if (h === '') return []
    const out: number[] = []
    const parts = h.split(':')
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!
      if (i === parts.length - 1 && p.includes('.')) {
        const tail = ipToBytes(p)
        if (tail?.family !== 'ipv4') return undefined
        out.push(tail.bytes.readUInt16BE(0), tail.bytes.readUInt16BE(2))
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(Number.parseInt(p, 16))
      else return undefined
    }
    return out
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (!head || !tail) return undefined
  const fill = 8 - head.length - tail.length
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) return undefined
  const all = [...head, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail]
  const bytes = Buffer.alloc(16)
  all.forEach((x, i) => bytes.writeUInt16BE(x, 2 * i))
  return {family: 'ipv6', bytes}
}

/** Whether the first `bits` bits of two addresses' bytes are equal (a prefix match, as an LPM trie does it). */
export function bytesPrefixMatch(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const full = Math.floor(bits / 8)
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false
  const rest = bits % 8
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (a[full]! & mask) === (b[full]! & mask)
}
