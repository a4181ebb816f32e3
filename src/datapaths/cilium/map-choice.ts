import type {BpfMapInfo} from '../../model/bpf-map.js'
import type {BpfProgram} from '../../model/hooks.js'
import {CILIUM_MAP_NAMES, ciliumMapNameOf, type CiliumMapName} from './map-names.js'

/** Why this map of a name was read when the kernel holds several (e.g. left over by an earlier agent, or one per lab node). */
type CiliumMapChoiceReason = 'only-one' | 'attached' | 'tail-call-family' | 'newest'

export interface CiliumMapChoice {
  name: CiliumMapName
  map: BpfMapInfo
  /** Ids of every map of this name in the kernel, ascending. */
  candidateIds: number[]
  reason: CiliumMapChoiceReason
  /** Programs (attached here, or sharing a cilium_calls array with one) whose map_ids hold the chosen map. */
  usedByProgIds: number[]
  /** How sure it is that this netns' datapath uses the chosen map: used by an attached program, by one of their tail-call family, or no evidence. */
  evidence: 'attached' | 'tail-call-family' | 'none'
  /** One line for the report when the choice was not obvious. */
  note?: string
}

/**
 * Pick one map per Cilium name. Maps are global, so on a lab with two nodes (or a node where an old agent's
 * maps linger) there are several: take the one the programs attached in this netns use (their map_ids);
 * else one used by a program that shares a `cilium_calls*` prog array with them (Cilium's entry programs
 * reach most maps through tail calls, which share the object's calls array); else the newest id, and say so.
 */
export function selectCiliumMaps(maps: readonly BpfMapInfo[], programs: readonly BpfProgram[], attachedProgIds: readonly number[]): CiliumMapChoice[] {
  const attached = new Set(attachedProgIds)
  const attachedProgs = programs.filter((p) => attached.has(p.id))
  const callsArrays = new Set(maps.filter((m) => m.type === 'prog_array' && m.name.startsWith('cilium_calls') && attachedProgs.some((p) => p.mapIds.includes(m.id))).map((m) => m.id))
  const family = programs.filter((p) => attached.has(p.id) || p.mapIds.some((id) => callsArrays.has(id)))
  const users = (m: BpfMapInfo, progs: readonly BpfProgram[]) => progs.filter((p) => p.mapIds.includes(m.id)).map((p) => p.id)
  const newest = (ms: BpfMapInfo[]) => ms.reduce((a, b) => (b.id > a.id ? b : a))
  const out: CiliumMapChoice[] = []
  for (const name of CILIUM_MAP_NAMES) {
    const cands = maps.filter((m) => ciliumMapNameOf(m) === name).sort((a, b) => a.id - b.id)
    if (cands.length === 0) continue
    const candidateIds = cands.map((m) => m.id)
    const direct = cands.filter((m) => users(m, attachedProgs).length > 0)
    const fam = cands.filter((m) => users(m, family).length > 0)
    let map: BpfMapInfo
    let reason: CiliumMapChoiceReason
    let note: string | undefined
    if (cands.length === 1) {
      map = cands[0]!
      reason = 'only-one'
      if (attached.size > 0 && fam.length === 0) note = `${name} (map ${map.id}) is not in the map_ids of the programs attached here nor of their tail-call family`
    } else if (direct.length > 0) {
      map = newest(direct)
      reason = 'attached'
      if (direct.length > 1) note = `${direct.length} maps named ${name} (${direct.map((m) => m.id).join(', ')}) are used by programs attached here: read the newest, ${map.id}`
    } else if (fam.length > 0) {
      map = newest(fam)
      reason = 'tail-call-family'
      note = `${cands.length} maps named ${name} (${candidateIds.join(', ')}): read ${map.id}, used by programs sharing a cilium_calls array with the attached ones`
    } else {
      map = newest(cands)
      reason = 'newest'
      note = `${cands.length} maps named ${name} (${candidateIds.join(', ')}) and none is used by a program attached here: read the newest, ${map.id}`
    }
    const evidence = users(map, attachedProgs).length > 0 ? 'attached' : users(map, family).length > 0 ? 'tail-call-family' : 'none'
    const c: CiliumMapChoice = {name, map, candidateIds, reason, usedByProgIds: users(map, family), evidence}
    if (note !== undefined) c.note = note
    out.push(c)
  }
  return out
}

const EVIDENCE_RANK = {attached: 2, 'tail-call-family': 1, none: 0} as const

/** Of the two ipcache maps, the one the datapath here uses: stronger evidence first, v2 (Cilium >= 1.18) when equal. */
export function preferredIpcache(selected: readonly CiliumMapChoice[]): CiliumMapChoice | undefined {
  const v2 = selected.find((c) => c.name === 'cilium_ipcache_v2')
  const v1 = selected.find((c) => c.name === 'cilium_ipcache')
  if (!v1 || !v2) return v2 ?? v1
  return EVIDENCE_RANK[v1.evidence] > EVIDENCE_RANK[v2.evidence] ? v1 : v2
}
