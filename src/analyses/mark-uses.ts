import {recogniseAttachment} from '../knowledge/programs.js'
import {SKB_PROG_TYPES} from '../knowledge/program-types.js'
import type {NodeState} from '../model/node-state.js'
import {UsageIds, usagesFromBpf, usagesFromIpRules, usagesFromNft, usagesFromSockets, usagesFromTc, usagesFromXfrm, usagesFromXt, type AttachedProgram} from './mark-sources.js'
import type {MarkUsage} from './mark-usage.js'

/** Every use of the mark on a node, from every source of mark use its state holds, numbered u1, u2… in source order. */
export function markUsagesOf(state: NodeState): MarkUsage[] {
  const ids = new UsageIds()
  const usages: MarkUsage[] = []
  // One loop per source, never push(...xs): a spread passes every element as an argument and overflows the
  // stack past ~120k of them (a large Calico node).
  const add = (xs: readonly MarkUsage[]) => {
    for (const u of xs) usages.push(u)
  }
  for (const d of state.xtMarks) add(usagesFromXt(d.ruleset, ids, d.jumps))
  if (state.nft) add(usagesFromNft(state.nft, ids))
  add(usagesFromIpRules(state.ipRules, ids))
  add(usagesFromXfrm(state.xfrmStates, state.xfrmPolicies, ids))
  add(usagesFromTc(state.hooks.tc.other, ids))
  add(usagesFromSockets(state.sockets, ids))
  // In the order their code was read, as the usage ids have always been numbered.
  const attached = attachedPrograms(state)
  for (const [id, code] of state.code) {
    const p = attached.get(id)
    if (p) add(usagesFromBpf(p, code, ids))
  }
  return usages
}

/** The programs on the node's hooks whose context is an skb, with every hook each sits on. */
function attachedPrograms(state: NodeState): Map<number, AttachedProgram> {
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
  return attached
}
