/**
 * nft expressions as `nft -j` prints them, evaluated against the packet: the left side of a match or the key of a
 * lookup (payload, meta, ct, fib, concatenations, `&`/`|`/`^`), the constants and sets on the right, and named
 * or anonymous set/map lookups (kube-proxy's `ip daddr . meta l4proto . th dport vmap @service-ips`).
 *
 * Three answers: a typed value; `absent` when the kernel's expression would break the rule (a tcp port of a UDP
 * packet, `ct mark` without a conntrack entry: NFT_BREAK, no match whatever the operator); `unknown` when the
 * packet alone cannot tell.
 */
import type {NftSet, NftTable} from '../../model/netfilter.js'
import {addressType, familyBits, parseIp, prefixMask} from './addr.js'
import {deviceAt, protoHasPorts, protoNumber, type Walk} from './state.js'

/** How a value compares: numbers (addresses, ports, marks, flag words) as bigints, names as strings. */
export type NType = 'addr' | 'int' | 'proto' | 'ifname' | 'ctstate' | 'ctstatus' | 'tcpflags' | 'icmptype' | 'icmpv6type' | 'str' | 'fiboif'

export interface Scalar {
  type: NType
  v: bigint | string
  /** Address width, for `addr`. */
  bits?: 32 | 128
}

export type Val = Scalar | {type: 'concat'; parts: Scalar[]}

export type Eval = {val: Val; assumed?: string} | {absent: string} | {unknown: string}

export interface NftEnv {
  w: Walk
  table: NftTable
}

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

// ------------------------------------------------------------------------------------- left side

export function evalExpr(e: unknown, env: NftEnv): Eval {
  if (!isObj(e)) return {unknown: `expression ${JSON.stringify(e)} not understood`}
  const key = Object.keys(e)[0] ?? ''
  const body = e[key]
  switch (key) {
    case 'payload':
      return isObj(body) ? payload(body, env.w) : {unknown: 'payload expression not understood'}
    case 'meta':
      return isObj(body) ? meta(String(body.key), env.w) : {unknown: 'meta expression not understood'}
    case 'ct':
      return isObj(body) ? ct(body, env.w) : {unknown: 'ct expression not understood'}
    case 'fib':
      return isObj(body) ? fib(body, env.w) : {unknown: 'fib expression not understood'}
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

function payload(b: Json, w: Walk): Eval {
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

/** nft's ct state bits (NF_CT_STATE_BIT: 1 << (ctinfo + 1), invalid 1, untracked 64). */
const CT_STATE_BITS: Readonly<Record<string, bigint>> = {invalid: 1n, established: 2n, related: 4n, new: 8n, untracked: 64n}
/** enum ip_conntrack_status bits nft names. */
const CT_STATUS_BITS: Readonly<Record<string, bigint>> = {expected: 1n, 'seen-reply': 2n, assured: 4n, confirmed: 8n, snat: 16n, dnat: 32n, dying: 512n}
const TCP_FLAG_BITS: Readonly<Record<string, bigint>> = {fin: 1n, syn: 2n, rst: 4n, psh: 8n, ack: 16n, urg: 32n, ecn: 64n, cwr: 128n}

function ct(b: Json, w: Walk): Eval {
  const key = String(b.key ?? '')
  const p = w.pkt
  if (key === 'state') return {val: {type: 'ctstate', v: w.untracked ? CT_STATE_BITS.untracked! : CT_STATE_BITS.new!}}
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

function fib(b: Json, w: Walk): Eval {
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

// ------------------------------------------------------------------------------------ constants

/** One constant of a set or the right side: equal to a value, or a closed range (prefixes become ranges). */
export type Atom = {kind: 'eq'; v: bigint | string} | {kind: 'range'; lo: bigint; hi: bigint} | {kind: 'ifprefix'; prefix: string}

/** Parse a constant with the type of the value it is compared with. Undefined when it cannot be read. */
export function constScalar(like: Scalar, c: unknown): Atom | undefined {
  if (isObj(c)) {
    if (isObj(c.prefix)) {
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

function intConst(c: unknown): Atom | undefined {
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

// ------------------------------------------------------------------------------------------ sets

interface SetEntry {
  atoms: Atom[]
  data?: unknown
}

interface SetIndex {
  /** Elements whose parts are all single values, by their joined key. */
  exact: Map<string, SetEntry>
  /** Elements with a range, prefix or wildcard part, in listed order. */
  intervals: SetEntry[]
  /** Elements nft printed in a form not understood. */
  bad: number
}

/** Lazy per (element list, key type) index: a 10k-service `service-ips` map is indexed once, looked up in O(1). */
const setIndexes = new WeakMap<unknown[], Map<string, SetIndex>>()

function typeSig(v: Val): string {
  return v.type === 'concat' ? v.parts.map((p) => `${p.type}${p.bits ?? ''}`).join('.') : `${v.type}${v.bits ?? ''}`
}

function scalarsOf(v: Val): Scalar[] {
  return v.type === 'concat' ? v.parts : [v]
}

function exactKey(vs: ReadonlyArray<bigint | string>): string {
  return vs.map((v) => (typeof v === 'bigint' ? `n${v}` : `s${v}`)).join('\u0000')
}

function indexSet(elements: unknown[], like: Val, isMap: boolean): SetIndex {
  let byType = setIndexes.get(elements)
  if (!byType) {
    byType = new Map()
    setIndexes.set(elements, byType)
  }
  const sig = typeSig(like)
  const have = byType.get(sig)
  if (have) return have
  const idx: SetIndex = {exact: new Map(), intervals: [], bad: 0}
  const parts = scalarsOf(like)
  for (const raw of elements) {
    let key: unknown = raw
    let data: unknown
    if (isMap) {
      if (!Array.isArray(raw) || raw.length < 2) {
        idx.bad++
        continue
      }
      key = raw[0]
      data = raw[1]
    }
    // `{"elem": {"val": …, "comment": …, "timeout": …}}` wraps elements that carry options.
    if (isObj(key) && isObj(key.elem)) key = key.elem.val
    const keyParts = isObj(key) && Array.isArray(key.concat) ? key.concat : [key]
    if (keyParts.length !== parts.length) {
      idx.bad++
      continue
    }
    const atoms: Atom[] = []
    for (let i = 0; i < parts.length; i++) {
      const a = constScalar(parts[i]!, keyParts[i])
      if (!a) break
      atoms.push(a)
    }
    if (atoms.length !== parts.length) {
      idx.bad++
      continue
    }
    const entry: SetEntry = isMap ? {atoms, data} : {atoms}
    if (atoms.every((a) => a.kind === 'eq')) {
      const k = exactKey(atoms.map((a) => (a as {v: bigint | string}).v))
      if (!idx.exact.has(k)) idx.exact.set(k, entry)
    } else idx.intervals.push(entry)
  }
  byType.set(sig, idx)
  return idx
}

export type Lookup = {found: true; data?: unknown} | {found: false} | {unknown: string}

const namedSets = new WeakMap<NftTable, Map<string, NftSet>>()

export function namedSet(table: NftTable, ref: string): NftSet | undefined {
  let m = namedSets.get(table)
  if (!m) {
    m = new Map(table.sets.map((s) => [s.name, s]))
    namedSets.set(table, m)
  }
  return m.get(ref.startsWith('@') ? ref.slice(1) : ref)
}

/** Look a key up in `@name` or an anonymous `{"set": [...]}`; for maps, the element's data. */
export function lookup(ref: unknown, key: Val, env: NftEnv, isMap: boolean): Lookup {
  let elements: unknown[]
  let label: string
  if (typeof ref === 'string' && ref.startsWith('@')) {
    const s = namedSet(env.table, ref)
    if (!s) return {unknown: `set ${ref} is not in table ${env.table.family} ${env.table.name}`}
    elements = s.elements
    label = ref
  } else if (isObj(ref) && Array.isArray(ref.set)) {
    elements = ref.set
    label = 'anonymous set'
  } else return {unknown: `set ${JSON.stringify(ref)} not understood`}
  const idx = indexSet(elements, key, isMap)
  const vs = scalarsOf(key)
  const exact = idx.exact.get(exactKey(vs.map((s) => s.v)))
  if (exact) return isMap ? {found: true, data: exact.data} : {found: true}
  for (const e of idx.intervals) if (e.atoms.every((a, i) => atomHas(a, vs[i]!))) return isMap ? {found: true, data: e.data} : {found: true}
  if (idx.bad > 0) return {unknown: `${label}: ${idx.bad} element(s) not understood, and no other element matches`}
  return {found: false}
}

// ------------------------------------------------------------------------------------- relations

/** `left op right` for a match statement; `unknown` when the right side cannot be read. */
export function relate(op: string, left: Val, right: unknown, env: NftEnv): boolean | {unknown: string} {
  // Set membership: `ip daddr @cluster-ips`, `tcp dport { 22, 80-90 }`.
  if ((typeof right === 'string' && right.startsWith('@')) || (isObj(right) && Array.isArray(right.set))) {
    const r = lookup(right, left, env, false)
    if ('unknown' in r) return r
    if (op === '==' || op === 'in') return r.found
    if (op === '!=') return !r.found
    return {unknown: `operator ${op} with a set`}
  }
  if (left.type === 'concat') {
    const parts = isObj(right) && Array.isArray(right.concat) ? right.concat : undefined
    if (!parts || parts.length !== left.parts.length) return {unknown: `concatenation compared with ${JSON.stringify(right)}`}
    let all = true
    for (let i = 0; i < parts.length; i++) {
      const a = constScalar(left.parts[i]!, parts[i])
      if (!a) return {unknown: `constant ${JSON.stringify(parts[i])} not understood`}
      if (!atomHas(a, left.parts[i]!)) all = false
    }
    return op === '!=' ? !all : all
  }
  const a = constScalar(left, right)
  if (!a) return {unknown: `constant ${JSON.stringify(right)} not understood for ${left.type}`}
  const flags = left.type === 'ctstate' || left.type === 'ctstatus' || left.type === 'tcpflags'
  switch (op) {
    case 'in':
      // `ct state established,related`: any of the bits (nft's implicit `& bits != 0`)
      if (flags && a.kind === 'eq' && typeof a.v === 'bigint' && typeof left.v === 'bigint') return (left.v & a.v) !== 0n
      return atomHas(a, left)
    case '==':
      return atomHas(a, left)
    case '!=':
      return !atomHas(a, left)
    case '<':
    case '>':
    case '<=':
    case '>=': {
      if (a.kind !== 'eq' || typeof a.v !== 'bigint' || typeof left.v !== 'bigint') return {unknown: `operator ${op} on ${left.type}`}
      const l = left.v
      const r = a.v
      return op === '<' ? l < r : op === '>' ? l > r : op === '<=' ? l <= r : l >= r
    }
    default:
      return {unknown: `operator ${op} not understood`}
  }
}

// ------------------------------------------------------------------------- values for statements

/**
 * A number a statement writes (`meta mark set …`, `ct mark set …`): constants, the marks, `&`/`|`/`^`/shifts and
 * map lookups (`meta mark set tcp dport map { 80 : 0x1 }`). Numgen-keyed maps are branch points: the walker
 * resolves them before calling this.
 */
export function evalNumber(e: unknown, env: NftEnv): {n: bigint} | {absent: string} | {unknown: string} {
  const c = intConst(e)
  if (c && c.kind === 'eq' && typeof c.v === 'bigint') return {n: c.v}
  if (isObj(e) && isObj(e.map)) {
    const key = evalExpr(e.map.key, env)
    if (!('val' in key)) return key
    const r = lookup(e.map.data, key.val, env, true)
    if ('unknown' in r) return r
    if (!r.found) return {absent: 'no map element for the key'}
    return evalNumber(r.data, env)
  }
  if (isObj(e)) {
    const key = Object.keys(e)[0] ?? ''
    const body = e[key]
    if ((key === '&' || key === '|' || key === '^' || key === '<<' || key === '>>') && Array.isArray(body) && body.length === 2) {
      const a = evalNumber(body[0], env)
      if (!('n' in a)) return a
      const b = evalNumber(body[1], env)
      if (!('n' in b)) return b
      const all = 0xffffffffn
      const n = key === '&' ? a.n & b.n : key === '|' ? a.n | b.n : key === '^' ? a.n ^ b.n : key === '<<' ? (a.n << b.n) & all : a.n >> b.n
      return {n}
    }
  }
  const v = evalExpr(e, env)
  if (!('val' in v)) return v
  if (v.val.type === 'concat' || typeof v.val.v !== 'bigint') return {unknown: `value ${JSON.stringify(e)} is not a number`}
  return {n: v.val.v}
}
