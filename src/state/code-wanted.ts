import type {BpfProgram, HookAttachment} from '../model/hooks.js'
import type {HooksFacts} from '../model/node-state.js'
import type {CiliumMaps} from '../probes/cilium-maps.js'
import {SKB_PROG_TYPES, TRACE_CODE_TYPES} from '../knowledge/program-types.js'

type CodeRequest = {id: number; name?: string}

function request(id: number, byId: ReadonlyMap<number, BpfProgram>): CodeRequest {
  const name = byId.get(id)?.name
  return name ? {id, name} : {id}
}

/** The programs on this netns's hooks whose mark use `marks` reads, each once, in attachment order. */
export function codeWantedForMarks(hooks: Pick<HooksFacts, 'programs'>, attachments: readonly HookAttachment[]): CodeRequest[] {
  const byId = new Map(hooks.programs.map((p) => [p.id, p]))
  const ids = new Set<number>()
  for (const a of attachments) {
    const p = byId.get(a.progId)
    if (p && !SKB_PROG_TYPES.has(p.type)) continue
    ids.add(a.progId)
  }
  return [...ids].map((id) => request(id, byId))
}

/** What `trace` reads the code of: what is attached, plus what Cilium's policy prog array tail-calls into. */
export function codeWantedForTrace(hooks: Pick<HooksFacts, 'programs'>, attachments: readonly HookAttachment[], cilium: Pick<CiliumMaps, 'policyCalls'>): CodeRequest[] {
  const byId = new Map(hooks.programs.map((p) => [p.id, p]))
  const attachedIds = [...new Set(attachments.map((a) => a.progId))]
  const wanted = new Set<number>(attachedIds.filter((id) => !byId.get(id) || TRACE_CODE_TYPES.has(byId.get(id)!.type)))
  for (const e of cilium.policyCalls) wanted.add(e.progId)
  return [...wanted].map((id) => request(id, byId))
}
