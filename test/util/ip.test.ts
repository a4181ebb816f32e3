// The one IP module (src/util/ip.ts): strict text in, inet_ntop's RFC 5952 text out, prefixes, masks.
import {createRequire} from 'node:module'
import {describe, expect, it} from 'vitest'
import {familyOf, formatIp, ipToBig, maskPrefixLength, parseCidr, parseIpAddress, parsePrefix, prefixContains} from '../../src/util/ip.js'

const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex')
/** Text in, canonical text out (a round trip through the bytes). */
const canonicalIp = (text: string) => {
  const a = parseIpAddress(text)
  return a && formatIp(a.family, a.bytes)
}

describe('formatIp: RFC 5952, as inet_ntop and so `ip -j` print', () => {
  it('compresses the longest run of zero groups, not the first', () => {
    // 2001:0:0:1:0:0:0:1: a run of two, then a run of three. The old netlink formatter gave 2001::1:0:0:0:1.
    expect(formatIp('ipv6', hex('2001 0000 0000 0001 0000 0000 0000 0001'))).toBe('2001:0:0:1::1')
    expect(canonicalIp('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1')
    // Equal runs: the leftmost (RFC 5952 §4.2.3).
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1')
    // A single zero group is never `::` (§4.2.2).
    expect(canonicalIp('1:2:3:4:5:6:7::')).toBe('1:2:3:4:5:6:7:0')
  })

  it('prints the canonical forms', () => {
    expect(formatIp('ipv6', Buffer.alloc(16))).toBe('::')
    expect(formatIp('ipv6', hex('0000 0000 0000 0000 0000 0000 0000 0001'))).toBe('::1')
    expect(formatIp('ipv6', hex('2001 0db8 0000 0000 0000 0000 0000 0000'))).toBe('2001:db8::')
    expect(canonicalIp('FE80:0000::000A')).toBe('fe80::a')
    // IPv4-mapped in the mixed form (§5), however it was written.
    expect(formatIp('ipv6', hex('0000 0000 0000 0000 0000 ffff 0a01 0203'))).toBe('::ffff:10.1.2.3')
    expect(canonicalIp('::ffff:0a01:0203')).toBe('::ffff:10.1.2.3')
    expect(formatIp('ipv4', hex('0a2a0033'))).toBe('10.42.0.51')
  })

  it('reads at an offset, 4 or 16 bytes by family', () => {
    expect(formatIp('ipv4', hex('ffff 0a2a 0033 ffff'), 2)).toBe('10.42.0.51')
    expect(formatIp('ipv4', hex('0a2a0033 000000000000000000000000'))).toBe('10.42.0.51')
  })
})

describe('parsing is strict: what tools print, nothing else', () => {
  it('takes both families, IPv6 with a dotted tail', () => {
    expect(parseIpAddress('::ffff:10.1.2.3')?.bytes.toString('hex')).toBe('00000000000000000000ffff0a010203')
    // `::a.b.c.d` is the IPv4-compatible address (::/96), not the IPv4-mapped one.
    expect(parseIpAddress('::1.2.3.4')?.bytes.toString('hex')).toBe('00000000000000000000000001020304')
    expect(parseIpAddress('1:2:3:4:5:6:7:8')?.family).toBe('ipv6')
    expect(parseIpAddress('10.42.0.51')).toEqual({family: 'ipv4', bytes: hex('0a2a0033')})
    expect(familyOf('::')).toBe('ipv6')
  })

  it('refuses short, octal, hex and zoned forms, and broken IPv6', () => {
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3', '256.1.1.1', '::g', ':::', '10.1', '010.1.1.1', '0x0a.0.0.1', 'fe80::1%eth0', '::ffff:01.2.3.4', '10.0.0.0/8', '', ' 10.0.0.1', 'default'])
      expect(parseIpAddress(bad), bad).toBeUndefined()
  })
})

describe('prefixes', () => {
  it('contain the addresses of their first len bits, of their family only', () => {
    const p = parsePrefix('10.42.0.0/24', 'ipv4')!
    expect(prefixContains(p, '10.42.0.9')).toBe(true)
    expect(prefixContains(p, '10.42.1.9')).toBe(false)
    expect(prefixContains(p, '::ffff:10.42.0.9')).toBe(false)
    // Host bits in the prefix do not count, as in the kernel's fib.
    expect(prefixContains(parsePrefix('10.42.0.7/24', 'ipv4')!, '10.42.0.200')).toBe(true)
    expect(prefixContains(parsePrefix('10.0.0.0/9', 'ipv4')!, '10.127.255.255')).toBe(true)
    expect(prefixContains(parsePrefix('10.0.0.0/9', 'ipv4')!, '10.128.0.0')).toBe(false)
    expect(prefixContains(parsePrefix('fd00::/8', 'ipv6')!, 'fdff::1')).toBe(true)
    expect(prefixContains(parsePrefix('default', 'ipv6')!, '2001:db8::1')).toBe(true)
    expect(prefixContains(parsePrefix('default', 'ipv6')!, '10.0.0.1')).toBe(false)
    expect(prefixContains(parsePrefix('10.42.0.51', 'ipv4')!, '10.42.0.51')).toBe(true)
    expect(prefixContains(parsePrefix('10.42.0.51', 'ipv4')!, '10.42.0.52')).toBe(false)
  })

  it('refuse the other family, bad lengths and bad addresses', () => {
    for (const [s, f] of [['10.0.0.0/33', 'ipv4'], ['fd00::/129', 'ipv6'], ['10.0.0.0/8', 'ipv6'], ['fd00::/8', 'ipv4'], ['10.0.0.0/', 'ipv4'], ['10.0.0/8', 'ipv4'], ['10.0.0.0/8/8', 'ipv4']] as const)
      expect(parsePrefix(s, f), s).toBeUndefined()
  })

  it('parseCidr keeps the address as written', () => {
    expect(parseCidr('2001:DB8::/32')).toEqual({address: '2001:DB8::', family: 'ipv6', prefixLen: 32})
    expect(parseCidr('0.0.0.0/0')).toEqual({address: '0.0.0.0', family: 'ipv4', prefixLen: 0})
    expect(parseCidr('10.0.0.1')).toBeUndefined()
  })
})

describe('masks', () => {
  it('a dotted mask is a prefix length only when contiguous', () => {
    expect(maskPrefixLength('255.255.255.0')).toBe(24)
    expect(maskPrefixLength('0.0.0.0')).toBe(0)
    expect(maskPrefixLength('255.255.255.255')).toBe(32)
    expect(maskPrefixLength('255.0.255.0')).toBeUndefined()
  })

  it('ipToBig gives the bits for iptables\' non-contiguous masks', () => {
    expect(ipToBig('10.0.0.1')).toEqual({v: 0x0a000001n, bits: 32})
    expect(ipToBig('255.0.255.0')).toEqual({v: 0xff00ff00n, bits: 32})
    expect(ipToBig('::1')).toEqual({v: 1n, bits: 128})
    expect(ipToBig('nope')).toBeUndefined()
  })
})

describe('IPv4 text read by hand: the same answers as ipaddr.js strict four-part decimal', () => {
  const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof import('ipaddr.js')
  const reference = (t: string): bigint | undefined => (ipaddr.IPv4.isValidFourPartDecimal(t) ? BigInt(ipaddr.IPv4.parse(t).toByteArray().reduce((a, b) => a * 256 + b, 0)) : undefined)
  it('agrees on edge cases and on 20k pseudo-random dotted strings', () => {
    const cases = ['0.0.0.0', '255.255.255.255', '10.96.3.231', '256.0.0.1', '1.2.3.256', '01.2.3.4', '1.2.3.04', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4/32', '1000.1.1.1', '', '1.2.3.a']
    let s = 7
    const rnd = (n: number) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0
      return (s >>> 8) % n
    }
    const parts = ['0', '1', '9', '10', '99', '100', '199', '249', '255', '256', '300', '01', '007', '', '1000', 'a']
    for (let i = 0; i < 20_000; i++) cases.push(Array.from({length: 3 + rnd(3)}, () => parts[rnd(parts.length)]).join('.'))
    let valid = 0
    for (const t of cases) {
      const want = reference(t)
      if (want !== undefined) valid++
      expect(ipToBig(t)?.v, t).toBe(want)
      expect(familyOf(t) === 'ipv4', t).toBe(want !== undefined)
    }
    expect(valid).toBeGreaterThan(100)
  })
})
