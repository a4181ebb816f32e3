/**
 * One iptables match against the packet: the core matches (-s -d -p -i -o -f) and the extensions the model types.
 * A match the packet alone cannot decide (a socket, an ipset we have not read) answers with `unknown` and the
 * assumption made; the caller says where.
 */
import {markMatches} from '../../model/mark.js'
import {ifaceMatches, type PortMatch, type ValueSet, type XtAddress, type XtMatch, type XtModuleMatch} from '../../model/netfilter.js'
import {addressType, inRange, maskFromText, maskedEqual, parseIp, prefixMask} from './addr.js'
import {ipsetLookup} from './ipset.js'
import {deviceAt, protoNumber, type Walk} from './state.js'

export interface MatchEval {
  ok: boolean
  /** What could not be known and what `ok` assumes. */
  unknown?: string
}

const yes: MatchEval = {ok: true}
const no: MatchEval = {ok: false}
const bool = (b: boolean): MatchEval => (b ? yes : no)

/** Options the model leaves uninterpreted that cannot change the answer (they steer counters, not matching). */
const HARMLESS_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  set: ['update-counters', 'update-subcounters'],
}

/** Core matches first: the kernel checks them all in ip_packet_match before any extension runs. */
export function isCoreMatch(m: XtMatch): boolean {
  return m.kind === 'source' || m.kind === 'destination' || m.kind === 'protocol' || m.kind === 'in-interface' || m.kind === 'out-interface' || m.kind === 'fragment'
}

export function evalXtMatch(m: XtMatch, w: Walk): MatchEval {
  const p = w.pkt
  switch (m.kind) {
    case 'source':
    case 'destination': {
      const text = m.kind === 'source' ? p.src : p.dst
      const r = addressMatches(m.address, text)
      if (typeof r === 'string') return {ok: false, unknown: `${m.kind === 'source' ? '-s' : '-d'} ${r}: assumed no match`}
      return bool(r !== m.negated)
    }
    case 'protocol': {
      if (m.protocol === 'all' || m.protocol === '0') return bool(!m.negated)
      const want = protoNumber(m.protocol)
      const have = protoNumber(p.proto)
      if (want === undefined || have === undefined) {
        if (m.protocol.toLowerCase() !== p.proto.toLowerCase()) return {ok: false, unknown: `-p ${m.protocol} against "${p.proto}": protocol name not known: assumed no match`}
        return bool(!m.negated)
      }
      return bool((want === have) !== m.negated)
    }
    case 'in-interface':
    case 'out-interface': {
      const dev = deviceAt(w, m.kind === 'in-interface' ? 'iif' : 'oif')
      const flag = m.kind === 'in-interface' ? '-i' : '-o'
      if (dev === undefined) return {ok: false, unknown: `${flag} ${m.iface.name}${m.iface.wildcard ? '+' : ''}: the packet's ${m.kind === 'in-interface' ? 'input' : 'output'} device is not given: assumed no match`}
      return bool(ifaceMatches(m.iface, dev) !== m.negated)
    }
    case 'fragment':
      // Only non-first fragments match -f; the packet traced is a whole first packet.
      return {ok: m.negated, unknown: `${m.negated ? '! ' : ''}-f: assumed not a fragment`}
    default:
      return evalModule(m, w)
  }
}

function evalModule(m: XtModuleMatch, w: Walk): MatchEval {
  const r = evalModuleTyped(m, w)
  const extra = (m.uninterpreted ?? []).filter((o) => !(HARMLESS_OPTIONS[m.module] ?? []).includes(o))
  if (extra.length === 0 || !r.ok) return r
  return {ok: false, unknown: `-m ${m.module} option${extra.length > 1 ? 's' : ''} ${extra.map((o) => `--${o}`).join(' ')} not evaluated: assumed no match`}
}

function evalModuleTyped(m: XtModuleMatch, w: Walk): MatchEval {
  const p = w.pkt
  switch (m.kind) {
    case 'comment':
      return yes
    case 'ports': {
      const proto = protoNumber(m.module)
      if (proto !== undefined && protoNumber(p.proto) !== proto) return no
      for (const [pm, port, name] of [
        [m.sport, p.sport, 'source'],
        [m.dport, p.dport, 'destination'],
      ] as const) {
        if (!pm) continue
        if (port === undefined) return {ok: false, unknown: `-m ${m.module} --${name === 'source' ? 'sport' : 'dport'}: the packet's ${name} port is not given: assumed no match`}
        if (!portMatches(pm, port)) return no
      }
      let flagsNote: string | undefined
      if (m.tcpFlags) {
        const mask = tcpFlagBits(m.tcpFlags.mask)
        const cmp = tcpFlagBits(m.tcpFlags.compare)
        if (mask === undefined || cmp === undefined) return {ok: false, unknown: `--tcp-flags ${m.tcpFlags.mask.join(',')} ${m.tcpFlags.compare.join(',')}: flag names not known: assumed no match`}
        flagsNote = 'tcp flags: assumed the first packet of a connection (SYN only)'
        if (((FIRST_PACKET_FLAGS & mask) === cmp) === m.tcpFlags.negated) return {ok: false, unknown: flagsNote}
      }
      if (m.syn) {
        flagsNote = 'tcp --syn: assumed the first packet of a connection (SYN only)'
        // --syn is --tcp-flags SYN,RST,ACK,FIN SYN
        if (((FIRST_PACKET_FLAGS & 0x17) === 0x02) === m.syn.negated) return {ok: false, unknown: flagsNote}
      }
      return flagsNote ? {ok: true, unknown: flagsNote} : yes
    }
    case 'multiport': {
      for (const [pm, ports, opt] of [
        [m.sports, [p.sport], 'sports'],
        [m.dports, [p.dport], 'dports'],
        [m.ports, [p.sport, p.dport], 'ports'],
      ] as const) {
        if (!pm) continue
        if (ports.some((x) => x === undefined)) return {ok: false, unknown: `-m multiport --${opt}: the packet's ports are not given: assumed no match`}
        // --ports: either port in the list (xt_multiport ports_match_v1 with XT_MULTIPORT_EITHER)
        const any = ports.some((x) => pm.ranges.some((r) => x! >= r.from && x! <= r.to))
        if (any === pm.negated) return no
      }
      return yes
    }
    case 'mark':
      return bool(markMatches(p.mark, m.mark) !== m.negated)
    case 'connmark':
      // No conntrack entry (NOTRACK): xt_connmark finds no ct and does not match.
      if (w.untracked) return no
      return bool(markMatches(p.ctmark, m.mark) !== m.negated)
    case 'conntrack':
      return conntrackMatch(m, w)
    case 'state':
      return bool(valueSetHas(m.state, ctStates(w, false)))
    case 'statistic': {
      const f = w.forced.get(m)
      if (f !== undefined) return bool(f)
      return {ok: false, unknown: '-m statistic outside a branch point: assumed no match'}
    }
    case 'set': {
      const r = ipsetLookup(w, m.setName, m.directions)
      if ('unknown' in r) return {ok: false, unknown: `${m.negated ? '! ' : ''}--match-set ${m.setName} ${m.directions.join(',')}: ${r.unknown}: assumed no match`}
      return bool(r.ok !== m.negated)
    }
    case 'addrtype':
      return addrtypeMatch(m, w)
    case 'iprange': {
      for (const [range, addr, opt] of [
        [m.srcRange, p.src, 'src-range'],
        [m.dstRange, p.dst, 'dst-range'],
      ] as const) {
        if (!range) continue
        const a = parseIp(addr)
        const from = parseIp(range.from)
        const to = parseIp(range.to)
        if (!a || !from || !to) return {ok: false, unknown: `-m iprange --${opt} ${range.from}-${range.to}: addresses not understood: assumed no match`}
        if (inRange(a, from, to) === range.negated) return no
      }
      return yes
    }
    case 'icmp':
      return icmpMatch(m, w)
    case 'socket':
      // A first packet has no established socket; a transparent listener is what TPROXY setups look for.
      return {ok: false, unknown: '-m socket: which socket the packet belongs to is not known: assumed none (no match)'}
    case 'owner':
      return {ok: false, unknown: '-m owner: the sending socket\'s owner is not known: assumed no match'}
    case 'rpfilter':
      // The reverse-path route lookup needs the routing tables: assume the source is reachable back through iif.
      return {ok: !m.invert, unknown: `-m rpfilter${m.invert ? ' --invert' : ''}: assumed the reverse-path check passes`}
    case 'physdev':
      return physdevMatch(m)
    case 'other':
      return {ok: false, unknown: `-m ${m.module} not evaluated: assumed no match`}
  }
}

/** `-s 10.0.0.0/8`; a string when it cannot be decided. */
function addressMatches(a: XtAddress, packetAddr: string): boolean | string {
  const base = parseIp(a.address)
  if (!base) return `${a.address}: not an address (a host name?)`
  const pkt = parseIp(packetAddr)
  if (!pkt) return `${a.address}: the packet address "${packetAddr}" is not an address`
  if (pkt.bits !== base.bits) return false
  let mask: bigint | undefined
  if (a.mask !== undefined) mask = maskFromText(a.mask, base.bits)
  else mask = prefixMask(a.prefixLen ?? base.bits, base.bits)
  if (mask === undefined) return `${a.address}/${a.mask}: mask not understood`
  return maskedEqual(pkt, base, mask)
}

export function portMatches(pm: PortMatch, port: number): boolean {
  return pm.ranges.some((r) => port >= r.from && port <= r.to) !== pm.negated
}

const TCP_FLAGS: Readonly<Record<string, number>> = {FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80, ALL: 0x3f, NONE: 0}
/** The packet traced opens a connection. */
const FIRST_PACKET_FLAGS = TCP_FLAGS.SYN!

function tcpFlagBits(names: string[]): number | undefined {
  let bits = 0
  for (const n of names) {
    const b = TCP_FLAGS[n.toUpperCase()]
    if (b === undefined) return undefined
    bits |= b
  }
  return bits
}

function valueSetHas(vs: ValueSet, have: ReadonlySet<string>): boolean {
  return vs.values.some((v) => have.has(v.toUpperCase())) !== vs.negated
}

/** The conntrack states the traced packet is in: NEW (or UNTRACKED after NOTRACK), plus DNAT/SNAT once NATed. */
function ctStates(w: Walk, withNat: boolean): Set<string> {
  if (w.untracked) return new Set(['UNTRACKED'])
  const s = new Set(['NEW'])
  if (withNat && w.pkt.ct?.dnat) s.add('DNAT')
  if (withNat && w.pkt.ct?.snat) s.add('SNAT')
  return s
}

function conntrackMatch(m: Extract<XtModuleMatch, {kind: 'conntrack'}>, w: Walk): MatchEval {
  if (m.ctstate && !valueSetHas(m.ctstate, ctStates(w, true))) return no
  // xt_conntrack without a ct (untracked): only the state test applies (conntrack_mt returns early).
  if (w.untracked) return bool(m.ctstate !== undefined)
  if (m.ctstatus) {
    // A first packet is not yet CONFIRMED, ASSURED, EXPECTED or SEEN_REPLY.
    if (!valueSetHas(m.ctstatus, new Set(['NONE']))) return no
  }
  if (m.ctdir && (m.ctdir.dir.toUpperCase() === 'ORIGINAL') === m.ctdir.negated) return no
  if (m.ctproto) {
    const have = protoNumber(w.pkt.proto)
    if (m.ctproto.values.some((v) => protoNumber(v) === have) === m.ctproto.negated) return no
  }
  return yes
}

function addrtypeMatch(m: Extract<XtModuleMatch, {kind: 'addrtype'}>, w: Walk): MatchEval {
  const notes: string[] = []
  for (const [vs, addrText, opt] of [
    [m.srcType, w.pkt.src, 'src-type'],
    [m.dstType, w.pkt.dst, 'dst-type'],
  ] as const) {
    if (!vs) continue
    const a = parseIp(addrText)
    if (!a) return {ok: false, unknown: `-m addrtype --${opt}: packet address "${addrText}" not understood: assumed no match`}
    const t = addressType(a, w.local)
    if (t.assumed && vs.values.some((v) => v.toUpperCase() !== 'LOCAL' && v.toUpperCase() !== 'MULTICAST' && v.toUpperCase() !== 'BROADCAST'))
      notes.push(`-m addrtype --${opt} ${vs.values.join(',')}: ${addrText} has no known type: assumed UNICAST`)
    if (valueSetHas(vs, new Set([t.type])) === false) return notes.length ? {ok: false, unknown: notes.join('; ')} : no
  }
  if (w.local.length === 0 && [m.srcType, m.dstType].some((vs) => vs?.values.some((v) => v.toUpperCase() === 'LOCAL')))
    notes.push('-m addrtype LOCAL: no local addresses were given: only loopback addresses count as LOCAL')
  if (m.limitIfaceIn || m.limitIfaceOut)
    notes.push(`-m addrtype --limit-iface-${m.limitIfaceIn ? 'in' : 'out'}: which addresses sit on which device is not known: assumed a local address counts on any device`)
  return notes.length ? {ok: true, unknown: notes.join('; ')} : yes
}

const ICMP4_TYPES: Readonly<Record<string, [number, number?]>> = {
  'echo-reply': [0],
  pong: [0],
  'destination-unreachable': [3],
  'network-unreachable': [3, 0],
  'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2],
  'port-unreachable': [3, 3],
  'fragmentation-needed': [3, 4],
  'source-quench': [4],
  redirect: [5],
  'echo-request': [8],
  ping: [8],
  'router-advertisement': [9],
  'router-solicitation': [10],
  'time-exceeded': [11],
  'ttl-exceeded': [11],
  'parameter-problem': [12],
  'timestamp-request': [13],
  'timestamp-reply': [14],
}
const ICMP6_TYPES: Readonly<Record<string, [number, number?]>> = {
  'destination-unreachable': [1],
  'no-route': [1, 0],
  'port-unreachable': [1, 4],
  'packet-too-big': [2],
  'time-exceeded': [3],
  'ttl-exceeded': [3],
  'parameter-problem': [4],
  'echo-request': [128],
  ping: [128],
  'echo-reply': [129],
  pong: [129],
  'router-solicitation': [133],
  'router-advertisement': [134],
  'neighbour-solicitation': [135],
  'neighbor-solicitation': [135],
  'neighbour-advertisement': [136],
  'neighbor-advertisement': [136],
  redirect: [137],
}

/** The ICMP type of the traced packet: given, or an echo request (what starts an ICMP "connection"). */
export function packetIcmpType(w: Walk): {type: number; assumed: boolean} {
  if (w.pkt.icmpType !== undefined) return {type: w.pkt.icmpType, assumed: false}
  return {type: w.pkt.family === 'ipv4' ? 8 : 128, assumed: true}
}

function icmpMatch(m: Extract<XtModuleMatch, {kind: 'icmp'}>, w: Walk): MatchEval {
  const v6 = m.module === 'icmp6'
  if (protoNumber(w.pkt.proto) !== (v6 ? 58 : 1)) return no
  const t = m.type.toLowerCase()
  let want: [number, number?] | undefined
  if (t === 'any') want = undefined
  else {
    const num = /^(\d+)(?:\/(\d+))?$/.exec(t)
    want = num ? [Number(num[1]), num[2] === undefined ? undefined : Number(num[2])] : (v6 ? ICMP6_TYPES : ICMP4_TYPES)[t]
    if (!want) return {ok: false, unknown: `--icmp${v6 ? 'v6' : ''}-type ${m.type}: type name not known: assumed no match`}
  }
  const have = packetIcmpType(w)
  // code 0: echo requests carry code 0
  const hit = want === undefined || (want[0] === have.type && (want[1] === undefined || want[1] === 0))
  const r = hit !== m.negated
  return have.assumed ? {ok: r, unknown: `--icmp${v6 ? 'v6' : ''}-type ${m.type}: the packet's type is not given: assumed echo-request`} : bool(r)
}

/**
 * xt_physdev on a packet without bridge info (a routed packet: no br_netfilter data): every non-inverted option
 * fails and inverted ones pass (physdev_mt's `!nf_bridge_info_exists(skb)` branch).
 */
function physdevMatch(m: Extract<XtModuleMatch, {kind: 'physdev'}>): MatchEval {
  const opts = [m.physdevIn, m.physdevOut, m.isIn, m.isOut, m.isBridged].filter((o) => o !== undefined)
  const ok = opts.every((o) => o.negated)
  return {ok, unknown: '-m physdev: assumed a routed packet, not one crossing a bridge (no br_netfilter info)'}
}

/** For statistic branch points: the probability a statistic match holds when reached. */
export function statisticProbability(m: Extract<XtModuleMatch, {kind: 'statistic'}>): number {
  const p = m.mode === 'random' ? m.probability : m.every > 0 ? 1 / m.every : 0
  return m.negated ? 1 - p : p
}

