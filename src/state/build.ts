import {hooksOnlyState, type NodeState, type NodeStateNeeds} from '../model/node-state.js'
import type {Source} from '../source/types.js'
import {mergeAttachments, nodeLabel} from './attachments.js'
import {collectHooksFacts} from './hooks.js'

/**
 * Read one node into a NodeState: the probes its commands need (`needs`). Every command (hooks, marks, trace,
 * snapshot) builds its state here, so they read a node the same way.
 */
export async function buildNodeState(src: Source, needs: NodeStateNeeds): Promise<NodeState> {
  if (needs.marks || needs.trace) {
    // The iptables dumps first: iptables-save is the longest run (~1 s at 110k rules on the nft backend), and
    // everything else (the ~100 ms of imports below included) fits in its shadow.
    const {readXtDumps} = await import('./netfilter-dumps.js')
    // trace alone builds only the chains its walk reads; snapshot and diff read every rule.
    const xt = readXtDumps(src, {rules: !needs.trace ? 'marks' : needs.marks ? 'full' : 'lazy'})
    // Rules, program code and maps: their parsers load only when asked for (~100 ms of imports `hooks` does not pay).
    const {readNodeInFull} = await import('./read-in-full.js')
    return readNodeInFull(src, needs, xt)
  }
  const hooks = await collectHooksFacts(src, {podIps: true})
  return hooksOnlyState(nodeLabel(src.meta), src.meta, hooks, mergeAttachments(hooks))
}
