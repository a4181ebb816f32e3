import type {BpfMapInfo, ProgArrayEntry} from '../../model/bpf-map.js'
import type {Parsed, Warning} from '../../model/warning.js'
import {parseProgArrayDump, type DumpedMap} from '../../probes/bpftool-map.js'
import type {MapChoiceInput, MapDump, MapPlan} from '../plugin.js'
import {parseCiliumIpcacheDump, type CiliumIpcacheEntry} from './ipcache.js'
import {parseCiliumLxcDump, type CiliumEndpoint} from './lxc.js'
import {preferredIpcache, selectCiliumMaps, type CiliumMapChoice} from './map-choice.js'
import {CILIUM_MAP_NAMES, ciliumMapNameOf, type CiliumMapName} from './map-names.js'
import {parseCiliumTunnelDump, type CiliumTunnelEntry} from './tunnel-map.js'

/** What Cilium's maps say on one node: the facts its semantics read. */
export interface CiliumFacts {
  /** Every map in the kernel with a Cilium name read here (all candidates, chosen or not). */
  found: BpfMapInfo[]
  /** The map read for each name present, and why it. */
  selected: CiliumMapChoice[]
  /**
   * From the ipcache map the datapath here uses: of cilium_ipcache_v2 and cilium_ipcache, the one with the
   * stronger evidence (see CiliumMapChoice.evidence), v2 when equal.
   */
  ipcache: CiliumIpcacheEntry[]
  ipcacheMap?: 'cilium_ipcache' | 'cilium_ipcache_v2'
  endpoints: CiliumEndpoint[]
  tunnels: CiliumTunnelEntry[]
  /** cilium_call_policy: endpoint id -> to-container program id. */
  policyCalls: ProgArrayEntry[]
  /** Program ids taken as attached in this netns. */
  attachedProgIds: number[]
  notes: string[]
}

export const emptyCiliumFacts = (): CiliumFacts => ({found: [], selected: [], ipcache: [], endpoints: [], tunnels: [], policyCalls: [], attachedProgIds: [], notes: []})

const MAX_PROBLEMS_PER_PROBE = 5

function take<T>(probe: string, dump: MapDump | undefined, parse: (text: string) => Parsed<T>, empty: T, warnings: Warning[]): T {
  if (!dump) return empty
  if ('failed' in dump) {
    warnings.push(dump.failed)
    return empty
  }
  const parsed = parse(dump.text)
  for (const p of parsed.problems.slice(0, MAX_PROBLEMS_PER_PROBE)) warnings.push({probe, kind: 'parse', message: `${p.probe}: ${p.message}`})
  if (parsed.problems.length > MAX_PROBLEMS_PER_PROBE) warnings.push({probe, kind: 'parse', message: `${probe}: ${parsed.problems.length - MAX_PROBLEMS_PER_PROBE} more parse problems not shown`})
  return parsed.facts
}

/**
 * Which of the kernel's maps Cilium's semantics read (one per name: see selectCiliumMaps), and their dumps
 * decoded by the layouts of ipcache.ts, lxc.ts, tunnel-map.ts and the policy prog array. `only` restricts the names.
 */
export function readCiliumMaps(input: MapChoiceInput, only: readonly CiliumMapName[] = CILIUM_MAP_NAMES): MapPlan<CiliumFacts> {
  const notes: string[] = []
  const wanted = new Set<CiliumMapName>(only)
  const found = (input.maps ?? []).filter((m) => {
    const n = ciliumMapNameOf(m)
    return n !== undefined && wanted.has(n)
  })
  const attachedProgIds = [...input.attachedProgIds]
  const selected = selectCiliumMaps(found, input.programs, attachedProgIds)
  for (const c of selected) if (c.note) notes.push(c.note)
  if (found.length === 0 && input.maps !== undefined) notes.push('no Cilium maps in the kernel (cilium_ipcache, cilium_lxc, cilium_call_policy…)')
  return {
    dump: selected.map((c) => c.map),
    decode(dumps) {
      const warnings: Warning[] = []
      const facts: CiliumFacts = {found, selected, ipcache: [], endpoints: [], tunnels: [], policyCalls: [], attachedProgIds, notes: [...notes]}
      const ipcacheUsed = preferredIpcache(selected)
      for (const c of selected) {
        const dump = dumps.get(c.map.id)
        const dm: DumpedMap = {name: c.name, keySize: c.map.keySize, valueSize: c.map.valueSize, id: c.map.id}
        const probe = `bpftool -j map dump id ${c.map.id}`
        switch (c.name) {
          case 'cilium_ipcache_v2':
          case 'cilium_ipcache': {
            const entries = take(probe, dump, (t) => parseCiliumIpcacheDump(t, dm), [] as CiliumIpcacheEntry[], warnings)
            if (c === ipcacheUsed) {
              facts.ipcache = entries
              facts.ipcacheMap = c.name
            }
            break
          }
          case 'cilium_lxc':
            facts.endpoints = take(probe, dump, (t) => parseCiliumLxcDump(t, dm), [] as CiliumEndpoint[], warnings)
            break
          case 'cilium_tunnel_map':
            facts.tunnels = take(probe, dump, (t) => parseCiliumTunnelDump(t, dm), [] as CiliumTunnelEntry[], warnings)
            break
          case 'cilium_call_policy':
            facts.policyCalls = take(probe, dump, (t) => parseProgArrayDump(t, dm), [] as ProgArrayEntry[], warnings)
            break
        }
      }
      const both = selected.filter((c) => c.name === 'cilium_ipcache' || c.name === 'cilium_ipcache_v2')
      if (both.length === 2) {
        const used = ipcacheUsed!
        facts.notes.push(`both cilium_ipcache (map ${both[1]!.map.id}) and cilium_ipcache_v2 (map ${both[0]!.map.id}) exist: read ${used.name}, ${used.evidence === 'none' ? 'the map of Cilium >= 1.18 (no program here shows which is used)' : `the one the programs here use`}`)
      }
      return {facts, warnings}
    },
  }
}
