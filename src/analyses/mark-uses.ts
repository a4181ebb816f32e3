import {recogniseAttachment} from '../knowledge/programs.js'
import {SKB_PROG_TYPES} from '../knowledge/program-types.js'
import type {NodeState} from '../model/node-state.js'
import type {ProgramSummary} from '../model/program-summary.js'
import {MARK_SOURCES} from './mark-sources/registry.js'
import type {AttachedProgram, MarkFacts} from './mark-sources/source.js'
import {UsageIds} from './mark-sources/usage.js'
import type {MarkUsage} from './mark-usage.js'

/** Every use of the mark on a node, from every source of mark use (mark-sources/registry.ts), numbered u1, u2… in source order. */
export function markUsagesOf(state: NodeState): MarkUsage[] {
  const facts: MarkFacts = {
    xt: state.xt,
    ...(state.nft ? {nft: state.nft} : {}),
    ipRules: state.ipRules,
    xfrmStates: state.xfrmStates,
    xfrmPolicies: state.xfrmPolicies,
    tcFilters: state.hooks.tc.other,
    sockets: state.sockets,
    programs: attachedProgramCode(state),
  }
  const ids = new UsageIds()
  const usages: MarkUsage[] = []
  // One loop per use, never push(...xs): a spread passes every element as an argument and overflows the stack
  // past ~120k of them (a large Calico node).
  for (const source of MARK_SOURCES) for (const u of source.usages(facts, ids)) usages.push(u)
  return usages
}

/** The programs on the node's hooks whose context is an skb, with every hook each sits on and its code, in the order their code was read. */
function attachedProgramCode(state: NodeState): Array<{program: AttachedProgram; access: ProgramSummary}> {
  const programs = new Map(state.hooks.programs.map((p) => [p.id, p]))
  const attached = new Map<number, AttachedProgram>()
  for (const a of state.attachments) {
    const p = programs.get(a.progId)
    if (p && !SKB_PROG_TYPES.has(p.type)) continue
    const hook = `${a.hook.replace('-', ' ')} ${a.devname}`
    const cur = attached.get(a.progId)
    if (cur) cur.hooks.push(hook)
    else {
      const software = recogniseAttachment(a, p)?.software
      attached.set(a.progId, {progId: a.progId, ...(p?.name ? {progName: p.name} : {}), hooks: [hook], ...(software ? {software} : {})})
    }
  }
  const out: Array<{program: AttachedProgram; access: ProgramSummary}> = []
  for (const [id, access] of state.code) {
    const program = attached.get(id)
    if (program) out.push({program, access})
  }
  return out
}
