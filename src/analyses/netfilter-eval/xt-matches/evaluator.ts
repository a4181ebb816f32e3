import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {Walk} from '../state.js'

export interface MatchEval {
  ok: boolean
  /** What could not be known and what `ok` assumes. */
  unknown?: string
}

export const yes: MatchEval = {ok: true}
export const no: MatchEval = {ok: false}
export const bool = (b: boolean): MatchEval => (b ? yes : no)

export type XtMatchKind = XtModuleMatch['kind']

/**
 * How one match extension decides for the traced packet, beside its parse (probes/iptables-save/matches/):
 * keyed by the typed match's kind, so a new extension is one file here and one registry line.
 */
export interface XtMatchEvaluator<K extends XtMatchKind> {
  evaluate(m: XtModuleMatch & {kind: K}, w: Walk): MatchEval
  /** Options the parse leaves uninterpreted that cannot change the answer (they steer counters, not matching). */
  harmlessOptions?: readonly string[]
}
