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
