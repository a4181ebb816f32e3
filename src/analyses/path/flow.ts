import {quoteInput, UserError} from '../../errors.js'
import {tryParseMarkSpec} from '../../model/mark.js'
import type {FlowSpec, Proto} from '../../model/path.js'
import {familyOf} from '../../util/ip.js'

export interface FlowArgs {
  src: string
  dst: string
  proto?: string
  sport?: number
  mark?: string
}

/**
 * `10.42.0.51:80`, `[fd00::51]:80`, `10.42.0.51`, `fd00::51`, `[fd00::51]`. An IPv6 address takes a port only
 * in brackets (RFC 3986 §3.2.2): unbracketed, `fd00::1:80` is the address fd00::1:80. Where that text is also
 * an address followed by `:PORT`, the reading is ambiguous and refused with both spellings, instead of
 * silently tracing ICMPv6 to fd00::1:80 when [fd00::1]:80 was meant.
 * @internal tested directly (a test seam)
 */
export function splitHostPort(s: string): {host: string; port?: number} {
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(s)
  if (v6) {
    return {host: v6[1]!, ...(v6[2] !== undefined ? {port: parsePort(v6[2], s)} : {})}
  }
  if (familyOf(s) === 'ipv6') {
    const tail = /^(.*):(\d{1,5})$/.exec(s)
    if (tail && familyOf(tail[1]!) === 'ipv6' && !tail[1]!.endsWith(':') && Number(tail[2]) >= 1 && Number(tail[2]) <= 65535)
      throw new UserError(`ambiguous destination ${quoteInput(s)}: did you mean [${tail[1]}]:${tail[2]} (address ${tail[1]}, port ${tail[2]})? An IPv6 address takes a port only in brackets; write [${s}] for the address ${s}`)
    return {host: s}
  }
  const i = s.lastIndexOf(':')
  if (i > 0 && s.indexOf(':') === i) return {host: s.slice(0, i), port: parsePort(s.slice(i + 1), s)}
  return {host: s}
}

/** A zone (`fe80::1%eth0`) names a link, and a link-local address never leaves it: no route, no node-to-node path to trace. */
function rejectZone(s: string, what: string): void {
  if (s.includes('%'))
    throw new UserError(`invalid ${what} ${quoteInput(s)}: a zone index (%NAME) names one link, and trace follows routed flows between pods and nodes: give a routable address (global or ULA, e.g. fd00::51), not a link-local one`)
}

function parsePort(p: string, whole: string): number {
  if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw new UserError(`invalid port in ${quoteInput(whole)}: expected 1-65535`)
  return Number(p)
}

/** SRC is an address, bracketed or not; its port is --sport. */
function splitSource(src: string): {host: string} {
  const br = /^\[([^\]]+)\](.*)$/.exec(src)
  if (br && br[2] !== '') throw new UserError(`invalid source ${quoteInput(src)}: SRC is an address; give the source port with --sport`)
  const host = br ? br[1]! : src
  const i = host.lastIndexOf(':')
  if (!familyOf(host) && i > 0 && host.indexOf(':') === i && familyOf(host.slice(0, i)) === 'ipv4') throw new UserError(`invalid source ${quoteInput(src)}: SRC is an address; give the source port with --sport`)
  return {host}
}

const PROTOS = new Set(['tcp', 'udp', 'icmp', 'icmpv6'])

/** The flow the user asked about, checked: one-line errors for bad addresses, ports, protocols or marks. */
export function parseFlow(a: FlowArgs): FlowSpec {
  rejectZone(a.src, 'source')
  rejectZone(a.dst, 'destination')
  const s = splitSource(a.src)
  const d = splitHostPort(a.dst)
  const fs = familyOf(s.host)
  const fd = familyOf(d.host)
  if (!fs) throw new UserError(`invalid source address ${quoteInput(a.src)}: expected an IPv4 or IPv6 address, e.g. 10.42.1.80`)
  if (!fd) throw new UserError(`invalid destination ${quoteInput(a.dst)}: expected ADDRESS[:PORT], e.g. 10.42.0.51:80 or [fd00::51]:80`)
  if (fs !== fd) throw new UserError(`source ${s.host} and destination ${d.host} are of different address families`)
  const family = fs
  let proto: Proto
  if (a.proto !== undefined) {
    const p = a.proto.toLowerCase()
    if (!PROTOS.has(p)) throw new UserError(`invalid --proto ${quoteInput(a.proto)}: expected tcp, udp or icmp`)
    proto = (p === 'icmp' && family === 'ipv6' ? 'icmpv6' : p) as Proto
  } else proto = d.port !== undefined ? 'tcp' : family === 'ipv6' ? 'icmpv6' : 'icmp'
  if ((proto === 'icmp' || proto === 'icmpv6') && (d.port !== undefined || a.sport !== undefined)) throw new UserError(`--proto ${proto} has no ports: drop the :PORT and --sport`)
  if (a.sport !== undefined && (!Number.isInteger(a.sport) || a.sport < 1 || a.sport > 65535)) throw new UserError(`invalid --sport ${a.sport}: expected 1-65535`)
  let mark = 0
  if (a.mark !== undefined) {
    const m = tryParseMarkSpec(a.mark)
    if ('error' in m || m.mark.mask !== 0xffffffff) throw new UserError(`invalid --mark ${quoteInput(a.mark)}: expected a 32-bit value such as 0x200`)
    mark = m.mark.value
  }
  const flow: FlowSpec = {family, src: s.host, dst: d.host, proto, mark}
  if (proto === 'tcp' || proto === 'udp') {
    // An ephemeral source port stands in when none is given: rules rarely match on it, and it is said so.
    flow.sport = a.sport ?? 40000
    if (d.port !== undefined) flow.dport = d.port
  }
  return flow
}
