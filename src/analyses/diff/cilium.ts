import type {CiliumFacts} from '../../datapaths/cilium/facts.js'
import type {NodeState} from '../../model/node-state.js'
import {parsePrefix, prefixContains} from '../../util/ip.js'

export interface CiliumEntryChange {
  map: 'ipcache' | 'lxc' | 'tunnel'
  /** The entry's key: an ipcache prefix, an endpoint's or a tunnel's address. */
  key: string
  change: 'added' | 'removed' | 'changed'
  /** The value, field by field, as nodeinspect decoded it (absent on the side that lacks the entry). */
  before?: Record<string, unknown>
  after?: Record<string, unknown>
}

type Entries = Map<string, {map: CiliumEntryChange['map']; key: string; value: Record<string, unknown>}>

const ciliumOf = (s: NodeState): CiliumFacts | undefined => s.datapaths.cilium as CiliumFacts | undefined

/** A value without what only numbers the entry (the decoder's layout): what Cilium decides with. */
function plain(o: object, drop: readonly string[] = []): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && !drop.includes(k)))
}

function entriesFor(s: NodeState, addresses: readonly string[]): Entries {
  const out: Entries = new Map()
  const c = ciliumOf(s)
  if (!c) return out
  for (const e of c.ipcache) {
    const p = parsePrefix(e.prefix, e.family)
    if (!p || !addresses.some((a) => prefixContains(p, a))) continue
    const key = `${e.prefix}${e.clusterId ? ` cluster ${e.clusterId}` : ''}`
    out.set(`ipcache ${key}`, {map: 'ipcache', key, value: plain(e, ['prefix', 'family', 'address', 'prefixLen', 'layout'])})
  }
  for (const e of c.endpoints) if (addresses.includes(e.ip)) out.set(`lxc ${e.ip}`, {map: 'lxc', key: e.ip, value: plain(e, ['ip', 'family', 'keyIndex'])})
  for (const e of c.tunnels) if (addresses.includes(e.ip)) out.set(`tunnel ${e.ip}`, {map: 'tunnel', key: e.ip, value: plain(e, ['ip', 'family'])})
  return out
}

/**
 * Cilium's map entries for the flow's addresses (ipcache prefixes that hold them, their endpoints, their tunnel
 * entries) that appeared, went, or hold another value. Only these: a node's maps change all the time elsewhere.
 */
export function diffCiliumEntries(a: NodeState, b: NodeState, addresses: readonly string[]): CiliumEntryChange[] {
  const x = entriesFor(a, addresses)
  const y = entriesFor(b, addresses)
  const out: CiliumEntryChange[] = []
  for (const k of [...new Set([...x.keys(), ...y.keys()])].sort()) {
    const p = x.get(k)
    const q = y.get(k)
    if (p && q) {
      if (JSON.stringify(p.value) !== JSON.stringify(q.value)) out.push({map: p.map, key: p.key, change: 'changed', before: p.value, after: q.value})
    } else if (p) out.push({map: p.map, key: p.key, change: 'removed', before: p.value})
    else if (q) out.push({map: q.map, key: q.key, change: 'added', after: q.value})
  }
  return out
}
