import type {ValueSet} from '../../../model/netfilter.js'
import type {Walk} from '../state.js'

export function valueSetHas(vs: ValueSet, have: ReadonlySet<string>): boolean {
  return vs.values.some((v) => have.has(v.toUpperCase())) !== vs.negated
}

/** The conntrack states the traced packet is in: NEW (or UNTRACKED after NOTRACK; ESTABLISHED for a reply), plus DNAT/SNAT once NATed. */
export function ctStates(w: Walk, withNat: boolean): Set<string> {
  if (w.untracked) return new Set(['UNTRACKED'])
  const s = new Set([w.pkt.ct?.established ? 'ESTABLISHED' : 'NEW'])
  if (withNat && w.pkt.ct?.dnat) s.add('DNAT')
  if (withNat && w.pkt.ct?.snat) s.add('SNAT')
  return s
}
