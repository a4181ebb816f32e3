import {parseJson, problem} from './parsed.js'
import type {Parsed} from '../model/warning.js'
import type {FdbEntry} from '../model/routing.js'
import {probe} from './descriptor.js'

/**
 * `bridge -j fdb show`: where a VXLAN device sends each MAC, e.g. `{"mac":"00:00:00:00:00:00","ifname":"cilium_vxlan","dst":"192.168.1.13","flags":["self"],"state":"permanent"}`,
 * and which port of a bridge each MAC is behind, e.g. `{"mac":"ce:62:92:9f:0a:93","ifname":"veth8c2e4a6b","flags":[],"master":"cni0","state":"permanent"}`.
 */
const BRIDGE_FDB_ARGV = ['bridge', '-j', 'fdb', 'show'] as const

export const bridgeFdbProbe = probe({argv: BRIDGE_FDB_ARGV}, (t) => parseBridgeFdbJson(t), [] as FdbEntry[])

/** @internal tested directly (a test seam) */
export function parseBridgeFdbJson(text: string): Parsed<FdbEntry[]> {
  if (text.trim() === '') return {facts: [], problems: []}
  const {value, problem: p} = parseJson('bridge -j fdb show', text)
  if (p) return {facts: [], problems: [p]}
  if (!Array.isArray(value)) return {facts: [], problems: [problem('bridge -j fdb show', 'expected a list')]}
  const facts: FdbEntry[] = []
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    if (typeof e.mac !== 'string' || typeof e.ifname !== 'string') continue
    const f: FdbEntry = {mac: e.mac, dev: e.ifname}
    if (typeof e.dst === 'string') f.dst = e.dst
    if (typeof e.vni === 'number') f.vni = e.vni
    if (typeof e.vlan === 'number') f.vlan = e.vlan
    if (typeof e.state === 'string') f.state = e.state
    if (typeof e.master === 'string') f.master = e.master
    if (Array.isArray(e.flags)) f.flags = e.flags.filter((x): x is string => typeof x === 'string')
    facts.push(f)
  }
  return {facts, problems: []}
}
