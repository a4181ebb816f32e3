import type {PortMatch} from '../../../model/netfilter.js'
import {protoNumber} from '../state.js'
import {no, yes, type XtMatchEvaluator} from './evaluator.js'

function portMatches(pm: PortMatch, port: number): boolean {
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

/** -m tcp / udp / udplite / sctp / dccp: the protocol, then --sport / --dport; tcp's flags for a first packet. */
export const portsEvaluator: XtMatchEvaluator<'ports'> = {
  evaluate(m, w) {
    const p = w.pkt
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
  },
}
