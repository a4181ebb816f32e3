import type {BpfProgram, HookAttachment} from '../model/hooks.js'
import type {DatapathFacts, HooksFacts} from '../model/node-state.js'
import {DATAPATHS, factsOf} from '../datapaths/registry.js'
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

/** What `trace` reads the code of: what is attached, plus what the datapath plugins' tail calls reach (Cilium's policy prog array). */
export function codeWantedForTrace(hooks: Pick<HooksFacts, 'programs'>, attachments: readonly HookAttachment[], datapaths: DatapathFacts): CodeRequest[] {
  const byId = new Map(hooks.programs.map((p) => [p.id, p]))
  const attachedIds = [...new Set(attachments.map((a) => a.progId))]
  const wanted = new Set<number>(attachedIds.filter((id) => !byId.get(id) || TRACE_CODE_TYPES.has(byId.get(id)!.type)))
  for (const plugin of DATAPATHS) for (const id of plugin.extraProgramIds(factsOf(plugin, datapaths))) wanted.add(id)
  return [...wanted].map((id) => request(id, byId))
}
