import {isIP} from 'node:net'
import {UserError} from '../../errors.js'
import {tryParseMarkSpec} from '../../model/mark.js'
import type {FlowSpec, Proto} from '../../model/path.js'

export interface FlowArgs {
  src: string
  dst: string
  proto?: string
  sport?: number
  mark?: string
}

/** `10.42.0.51:80`, `[fd00::51]:80`, `10.42.0.51`, `fd00::51`. */
export function splitHostPort(s: string): {host: string; port?: number} {
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(s)
  if (v6) return {host: v6[1]!, ...(v6[2] !== undefined ? {port: parsePort(v6[2], s)} : {})}
  if (isIP(s) === 6) return {host: s}
  const i = s.lastIndexOf(':')
  if (i > 0 && s.indexOf(':') === i) return {host: s.slice(0, i), port: parsePort(s.slice(i + 1), s)}
  return {host: s}
}

function parsePort(p: string, whole: string): number {
  if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw new UserError(`invalid port in "${whole}": expected 1-65535`)
  return Number(p)
}

const PROTOS = new Set(['tcp', 'udp', 'icmp', 'icmpv6'])

/** The flow the user asked about, checked: one-line errors for bad addresses, ports, protocols or marks. */
export function parseFlow(a: FlowArgs): FlowSpec {
  const s = splitHostPort(a.src)
  const d = splitHostPort(a.dst)
  const fs = isIP(s.host)
  const fd = isIP(d.host)
  if (fs === 0) throw new UserError(`invalid source address "${a.src}": expected an IPv4 or IPv6 address, e.g. 10.42.1.80`)
  if (fd === 0) throw new UserError(`invalid destination "${a.dst}": expected ADDRESS[:PORT], e.g. 10.42.0.51:80 or [fd00::51]:80`)
  if (fs !== fd) throw new UserError(`source ${s.host} and destination ${d.host} are of different address families`)
  const family = fs === 4 ? 'ipv4' : 'ipv6'
  let proto: Proto
  if (a.proto !== undefined) {
    const p = a.proto.toLowerCase()
    if (!PROTOS.has(p)) throw new UserError(`invalid --proto "${a.proto}": expected tcp, udp or icmp`)
    proto = (p === 'icmp' && family === 'ipv6' ? 'icmpv6' : p) as Proto
  } else proto = d.port !== undefined ? 'tcp' : family === 'ipv6' ? 'icmpv6' : 'icmp'
  if ((proto === 'icmp' || proto === 'icmpv6') && (d.port !== undefined || a.sport !== undefined)) throw new UserError(`--proto ${proto} has no ports: drop the :PORT and --sport`)
  if (a.sport !== undefined && (!Number.isInteger(a.sport) || a.sport < 1 || a.sport > 65535)) throw new UserError(`invalid --sport ${a.sport}: expected 1-65535`)
  let mark = 0
  if (a.mark !== undefined) {
    const m = tryParseMarkSpec(a.mark)
    if ('error' in m || m.mark.mask !== 0xffffffff) throw new UserError(`invalid --mark "${a.mark}": expected a 32-bit value such as 0x200`)
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
