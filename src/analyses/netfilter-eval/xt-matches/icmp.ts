import type {XtModuleMatch} from '../../../model/netfilter.js'
import {protoNumber, type Walk} from '../state.js'
import {bool, no, type MatchEval, type XtMatchEvaluator} from './evaluator.js'

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
function packetIcmpType(w: Walk): {type: number; assumed: boolean} {
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

/** -m icmp / -m icmp6 --icmp-type. */
export const icmpEvaluator: XtMatchEvaluator<'icmp'> = {evaluate: icmpMatch}
