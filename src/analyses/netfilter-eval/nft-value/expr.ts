/** The left side of a match or the key of a lookup: payload, meta, ct, fib, concatenations, `&`/`|`/`^`. */
import {addressType, familyBits, parseIp} from '../addr.js'
import {deviceAt, protoHasPorts, protoNumber, type Walk} from '../state.js'
import {constScalar, CT_STATE_BITS, CT_STATUS_BITS, TCP_FLAG_BITS} from './constants.js'
import type {Eval, NftEnv, Scalar} from './value.js'
import {isJsonObject, type JsonObject} from '../../../util/json.js'

export function evalExpr(e: unknown, env: NftEnv): Eval {
  if (!isJsonObject(e)) return {unknown: `expression ${JSON.stringify(e)} not understood`}
  const key = Object.keys(e)[0] ?? ''
  const body = e[key]
  switch (key) {
    case 'payload':
      return isJsonObject(body) ? payload(body, env.w) : {unknown: 'payload expression not understood'}
    case 'meta':
      return isJsonObject(body) ? meta(String(body.key), env.w) : {unknown: 'meta expression not understood'}
    case 'ct':
      return isJsonObject(body) ? ct(body, env.w) : {unknown: 'ct expression not understood'}
    case 'fib':
      return isJsonObject(body) ? fib(body, env.w) : {unknown: 'fib expression not understood'}
    case 'concat': {
      if (!Array.isArray(body)) return {unknown: 'concat not understood'}
      const parts: Scalar[] = []
      const notes: string[] = []
      for (const p of body) {
        const r = evalExpr(p, env)
        if (!('val' in r)) return r
        if (r.val.type === 'concat') return {unknown: 'nested concatenation'}
        if (r.assumed) notes.push(r.assumed)
        parts.push(r.val)
      }
      return notes.length ? {val: {type: 'concat', parts}, assumed: notes.join('; ')} : {val: {type: 'concat', parts}}
    }
    case '&':
    case '|':
    case '^':
    case '<<':
    case '>>':
      return binop(key, body, env)
    case 'numgen':
      return {unknown: 'numgen outside a map (a random or round-robin number)'}
    default:
      return {unknown: `${key} expression not evaluated`}
  }
}

function payload(b: JsonObject, w: Walk): Eval {
  const proto = String(b.protocol ?? '')
  const field = String(b.field ?? '')
  const p = w.pkt
  if (proto === '') return {unknown: `raw payload @${String(b.base)},${String(b.offset)},${String(b.len)} not evaluated`}
  if (proto === 'ip' || proto === 'ip6') {
    // nft adds a hidden `meta nfproto` dependency: another family's packet breaks the rule.
    if ((proto === 'ip') !== (p.family === 'ipv4')) return {absent: `${proto} header on an ${p.family} packet`}
    if (field === 'saddr' || field === 'daddr') return addrVal(field === 'saddr' ? p.src : p.dst, p.family)
    if (field === 'protocol' || field === 'nexthdr') return protoVal(p.proto)
    return {unknown: `${proto} ${field} not evaluated`}
  }
  if (proto === 'th' || proto === 'tcp' || proto === 'udp' || proto === 'udplite' || proto === 'sctp' || proto === 'dccp') {
    if (proto === 'th' ? !protoHasPorts(p.proto) : protoNumber(proto) !== protoNumber(p.proto)) return {absent: `${proto} header on a ${p.proto} packet`}
    if (field === 'sport' || field === 'dport') {
      const port = field === 'sport' ? p.sport : p.dport
      if (port === undefined) return {unknown: `${proto} ${field}: the packet's ${field === 'sport' ? 'source' : 'destination'} port is not given`}
      return {val: {type: 'int', v: BigInt(port)}}
    }
    if (proto === 'tcp' && field === 'flags') return {val: {type: 'tcpflags', v: TCP_FLAG_BITS.syn!}, assumed: 'tcp flags: assumed the first packet of a connection (SYN only)'}
    return {unknown: `${proto} ${field} not evaluated`}
  }
  if (proto === 'icmp' || proto === 'icmpv6') {
    if (protoNumber(p.proto) !== (proto === 'icmp' ? 1 : 58)) return {absent: `${proto} header on a ${p.proto} packet`}
    const given = p.icmpType !== undefined
    const type = p.icmpType ?? (proto === 'icmp' ? 8 : 128)
    const assumed = given ? undefined : `${proto} type: not given: assumed echo-request`
    if (field === 'type') return withAssumed({type: proto === 'icmp' ? 'icmptype' : 'icmpv6type', v: BigInt(type)}, assumed)
    if (field === 'code') return withAssumed({type: 'int', v: 0n}, `${proto} code: assumed 0`)
    return {unknown: `${proto} ${field} not evaluated`}
  }
  return {unknown: `${proto} ${field} not evaluated`}
}

function withAssumed(val: Scalar, assumed: string | undefined): Eval {
  return assumed ? {val, assumed} : {val}
}

function addrVal(text: string, family: 'ipv4' | 'ipv6'): Eval {
  const ip = parseIp(text)
  if (!ip || ip.bits !== familyBits(family)) return {unknown: `packet address "${text}" is not an ${family} address`}
  return {val: {type: 'addr', v: ip.v, bits: ip.bits}}
}

function protoVal(proto: string): Eval {
  const n = protoNumber(proto)
  return n === undefined ? {unknown: `protocol "${proto}" not known`} : {val: {type: 'proto', v: BigInt(n)}}
}

function meta(key: string, w: Walk): Eval {
  const p = w.pkt
  switch (key) {
    case 'l4proto':
      return protoVal(p.proto)
    case 'nfproto':
      return {val: {type: 'str', v: p.family}}
    case 'protocol':
      return {val: {type: 'str', v: p.family === 'ipv4' ? 'ip' : 'ip6'}}
    case 'mark':
      return {val: {type: 'int', v: BigInt(p.mark >>> 0)}}
    case 'nftrace':
      return {val: {type: 'int', v: 0n}}
    case 'iifname':
    case 'oifname':
    case 'iif':
    case 'oif': {
      const which = key.startsWith('i') ? 'iif' : 'oif'
      const dev = deviceAt(w, which)
      if (dev === undefined) return {unknown: `meta ${key}: the packet's ${which === 'iif' ? 'input' : 'output'} device is not given`}
      // iif/oif compare the device index, and break without a device; the names stand in for the indexes.
      if (dev === '' && (key === 'iif' || key === 'oif')) return {absent: `no ${which} at ${w.hook}`}
      return {val: {type: 'ifname', v: dev}}
    }
    default:
      return {unknown: `meta ${key} not evaluated`}
  }
}

function ct(b: JsonObject, w: Walk): Eval {
  const key = String(b.key ?? '')
  const p = w.pkt
  if (key === 'state') return {val: {type: 'ctstate', v: w.untracked ? CT_STATE_BITS.untracked! : p.ct?.established ? CT_STATE_BITS.established! : CT_STATE_BITS.new!}}
  // Every other ct key needs a conntrack entry (nft_ct_get_eval breaks without one).
  if (w.untracked) return {absent: `ct ${key} of an untracked packet`}
  switch (key) {
    case 'mark':
      return {val: {type: 'int', v: BigInt(p.ctmark >>> 0)}}
    case 'status': {
      let v = 0n
      if (p.ct?.snat) v |= CT_STATUS_BITS.snat!
      if (p.ct?.dnat) v |= CT_STATUS_BITS.dnat!
      return {val: {type: 'ctstatus', v}}
    }
    case 'direction':
      return {val: {type: 'str', v: 'original'}}
    case 'l3proto':
      return {val: {type: 'str', v: p.family}}
    case 'protocol':
      return protoVal(p.proto)
    case 'zone':
      return {val: {type: 'int', v: 0n}, assumed: 'ct zone: assumed the default zone 0'}
    case 'saddr':
    case 'daddr':
    case 'proto-src':
    case 'proto-dst': {
      if (b.dir !== undefined && b.dir !== 'original') return {unknown: `ct ${String(b.dir)} ${key}: the reply tuple is not known`}
      if (p.ct?.dnat || p.ct?.snat) return {unknown: `ct original ${key}: the tuple before NAT is not known`}
      if (key === 'saddr' || key === 'daddr') return addrVal(key === 'saddr' ? p.src : p.dst, p.family)
      const port = key === 'proto-src' ? p.sport : p.dport
      return port === undefined ? {unknown: `ct original ${key}: port not given`} : {val: {type: 'int', v: BigInt(port)}}
    }
    default:
      return {unknown: `ct ${key} not evaluated`}
  }
}

function fib(b: JsonObject, w: Walk): Eval {
  const result = String(b.result ?? '')
  const flags = Array.isArray(b.flags) ? b.flags.map(String) : typeof b.flags === 'string' ? [b.flags] : []
  const p = w.pkt
  if (result === 'type') {
    const which = flags.includes('saddr') ? p.src : p.dst
    const ip = parseIp(which)
    if (!ip) return {unknown: `fib type: address "${which}" not understood`}
    const t = addressType(ip, w.local)
    const notes: string[] = []
    if (t.assumed) notes.push(`fib ${flags.join(' . ')} type: ${which} has no known type: assumed unicast`)
    if (w.local.length === 0) notes.push(`fib ${flags.join(' . ')} type: no local addresses were given: only loopback addresses count as local`)
    if (flags.includes('iif') || flags.includes('oif')) notes.push(`fib ${flags.join(' . ')} type: which addresses sit on which device is not known: assumed any local address counts`)
    return notes.length ? {val: {type: 'str', v: t.type.toLowerCase()}, assumed: notes.join('; ')} : {val: {type: 'str', v: t.type.toLowerCase()}}
  }
  if ((result === 'oif' || result === 'oifname') && flags.includes('saddr')) {
    // rpfilter in nft (`fib saddr . iif oif missing drop`): the route back to the source needs the routing tables.
    return {val: {type: 'fiboif', v: p.iif ?? 'present'}, assumed: `fib ${flags.join(' . ')} ${result}: assumed the reverse path exists (through the input device)`}
  }
  return {unknown: `fib ${flags.join(' . ')} ${result} needs a route lookup`}
}

function binop(op: string, body: unknown, env: NftEnv): Eval {
  if (!Array.isArray(body) || body.length !== 2) return {unknown: `${op} expression not understood`}
  const left = evalExpr(body[0], env)
  if (!('val' in left)) return left
  const l = left.val
  if (l.type === 'concat' || typeof l.v !== 'bigint') return {unknown: `${op} on a non-number`}
  const c = constScalar(l, body[1])
  if (!c || c.kind !== 'eq' || typeof c.v !== 'bigint') return {unknown: `${op} with ${JSON.stringify(body[1])} not understood`}
  const width = l.type === 'addr' ? BigInt(l.bits ?? 32) : 32n
  const all = (1n << width) - 1n
  let v: bigint
  if (op === '&') v = l.v & c.v
  else if (op === '|') v = l.v | c.v
  else if (op === '^') v = l.v ^ c.v
  else if (op === '<<') v = (l.v << c.v) & all
  else v = l.v >> c.v
  return {val: {...l, v}, ...(left.assumed ? {assumed: left.assumed} : {})}
}

