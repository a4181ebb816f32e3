import {markMatches} from '../../../model/mark.js'
import {bool, no, type XtMatchEvaluator} from './evaluator.js'

/** -m mark: `(skb->mark & mask) == value`, then negation. */
export const markEvaluator: XtMatchEvaluator<'mark'> = {
  evaluate: (m, w) => bool(markMatches(w.pkt.mark, m.mark) !== m.negated),
}

/** -m connmark: the same on the connection's mark. */
export const connmarkEvaluator: XtMatchEvaluator<'connmark'> = {
  evaluate(m, w) {
    // No conntrack entry (NOTRACK): xt_connmark finds no ct and does not match.
    if (w.untracked) return no
    return bool(markMatches(w.pkt.ctmark, m.mark) !== m.negated)
  },
}
