/**
 * One iptables match against the packet: the core matches (-s -d -p -i -o -f) here, the extensions through their
 * registry (xt-matches/registry.ts).
 * A match the packet alone cannot decide (a socket, an ipset we have not read) answers with `unknown` and the
 * assumption made; the caller says where.
 */
import {ifaceMatches, type XtAddress, type XtMatch} from '../../model/netfilter.js'
import {maskFromText, maskedEqual, parseIp, prefixMask} from './addr.js'
import {deviceAt, protoNumber, type Walk} from './state.js'
import {bool, type MatchEval} from './xt-matches/evaluator.js'
import {evalXtModule} from './xt-matches/registry.js'

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
        if (m.protocol.toLowerCase() !== p.proto.toLowerCase()) return {ok: false, unknown: `-p ${m.protocol}: a protocol name neither /etc/protocols nor libxtables knows (knowledge/protocols.ts): unknown, assumed no match`}
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
      return evalXtModule(m, w)
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
