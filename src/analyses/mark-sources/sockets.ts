import {hex} from '../../model/mark.js'
import type {SsSocket} from '../../model/socket.js'
import type {MarkLocation, MarkUsage} from '../mark-usage.js'
import type {MarkSource} from './source.js'
import {enrich, writeUsage, type UsageIds} from './usage.js'

/**
 * Sockets with SO_MARK: every packet they send starts with that whole mark (read by routing: `ip rule fwmark`).
 * One use per (mark, process), however many sockets share it.
 */
function usagesFromSockets(sockets: readonly SsSocket[], ids: UsageIds): MarkUsage[] {
  const groups = new Map<string, {mark: number; procs: string[]; sockets: SsSocket[]}>()
  for (const s of sockets) {
    if (!s.mark) continue
    const procs = [...new Set(s.processes.map((p) => p.name))].sort()
    const key = `${s.mark}|${procs.join(',')}`
    const g = groups.get(key) ?? {mark: s.mark, procs, sockets: []}
    g.sockets.push(s)
    groups.set(key, g)
  }
  const out: MarkUsage[] = []
  for (const g of groups.values()) {
    const first = g.sockets[0]!
    const detail = `${g.sockets.length} socket${g.sockets.length === 1 ? '' : 's'}, e.g. ${first.netid ?? ''} ${first.local.address}:${first.local.port} → ${first.peer.address}:${first.peer.port}`.replace(/\s+/g, ' ')
    const process = g.procs.length ? g.procs.join(', ') : undefined
    const where: MarkLocation = {hooks: ['socket (SO_MARK on locally sent packets)'], detail, ...(process ? {process} : {}), place: `${process ?? 'socket'}: ${detail}`, showHooks: false}
    const u = writeUsage(ids.next(), 'socket', {kind: 'set', target: 'packet', value: g.mark}, where, undefined, 'kernel', `SO_MARK ${hex(g.mark)}${g.procs.length ? ` (${g.procs.join(', ')})` : ''}`)
    out.push(enrich(u, {processes: g.procs}))
  }
  return out
}

export const socketsSource: MarkSource = {
  id: 'socket',
  reads: ['sockets'],
  usages: (facts, ids) => usagesFromSockets(facts.sockets, ids),
}
