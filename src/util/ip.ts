import {isIP} from 'node:net'

/** An address as a bigint plus its width (32 or 128), for prefix arithmetic on both families. */
export function ipToBig(ip: string): {v: bigint; bits: 32 | 128} | undefined {
  const kind = isIP(ip)
  if (kind === 4) return {v: ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n), bits: 32}
  if (kind !== 6) return undefined
  let s = ip
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (v4) {
    const n = ipToBig(v4[1]!)!.v
    s = s.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`
  }
  const [head, tail] = s.split('::')
  const h = head ? head.split(':') : []
  const t = tail !== undefined && tail !== '' ? tail.split(':') : []
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  return {v: groups.reduce((a, g) => (a << 16n) | BigInt(Number.parseInt(g || '0', 16)), 0n), bits: 128}
}

export interface Prefix {
  v: bigint
  len: number
  bits: 32 | 128
}

/** "10.42.0.0/24", "10.42.0.51" (a host), "default" (for the given family). */
export function parsePrefix(s: string, family: 'ipv4' | 'ipv6'): Prefix | undefined {
  const bits = family === 'ipv4' ? 32 : 128
  if (s === 'default') return {v: 0n, len: 0, bits}
  const [a, l] = s.split('/')
  const ip = ipToBig(a!)
  if (!ip || ip.bits !== bits) return undefined
  const len = l === undefined ? bits : Number(l)
  if (!Number.isInteger(len) || len < 0 || len > bits) return undefined
  return {v: ip.v, len, bits}
}

export function prefixContains(p: Prefix, ip: string): boolean {
  const x = ipToBig(ip)
  if (!x || x.bits !== p.bits) return false
  if (p.len === 0) return true
  const shift = BigInt(p.bits - p.len)
  return x.v >> shift === p.v >> shift
}

export function familyOf(ip: string): 'ipv4' | 'ipv6' | undefined {
  const k = isIP(ip)
  return k === 4 ? 'ipv4' : k === 6 ? 'ipv6' : undefined
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
