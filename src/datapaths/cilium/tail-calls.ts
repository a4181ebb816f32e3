import {recogniseTailCallTarget} from '../../knowledge/programs.js'
import type {PacketView, TailCallResolution} from '../plugin.js'
import type {CiliumFacts} from './facts.js'

/**
 * A tail call through cilium_call_policy: the slot is the destination endpoint's id (cilium_lxc), the program in
 * it the endpoint's to-container (policy) program. Other prog arrays (cilium_calls_*) are not read.
 */
export function resolveCiliumTailCall(ctx: {facts: CiliumFacts; pkt: PacketView; mapIds: ReadonlyArray<number | undefined>}): TailCallResolution | undefined {
  const {facts, pkt} = ctx
  const policy = facts.selected.find((s) => s.name === 'cilium_call_policy')
  if (!policy || !ctx.mapIds.includes(policy.map.id)) return undefined
  const ep = facts.endpoints.find((e) => e.ip === pkt.tuple.dst && !e.isHost)
  const slot = ep ? facts.policyCalls.find((c) => c.key === ep.endpointId) : undefined
  if (!ep || !slot) return {note: `tail call through cilium_call_policy (map ${policy.map.id}): ${ep ? `no program in slot ${ep.endpointId}` : `${pkt.tuple.dst} is not a local endpoint in cilium_lxc`}: the packet continues`}
  return {note: `cilium_lxc: ${ep.ip} is endpoint ${ep.endpointId} (ifindex ${ep.ifindex}); tail call cilium_call_policy[${ep.endpointId}] → program ${slot.progId}`, target: {progId: slot.progId, endpointIfindex: ep.ifindex, ...withRecognition(`cilium_call_policy[${ep.endpointId}]`)}}
}

/** The slot's program is the endpoint's to-container (policy) program, whatever its name (`handle_policy` in <= 1.12). */
function withRecognition(slot: string): Pick<NonNullable<TailCallResolution['target']>, 'recognition'> {
  const recognition = recogniseTailCallTarget('Cilium', 'to-container', slot)
  return recognition ? {recognition} : {}
}
