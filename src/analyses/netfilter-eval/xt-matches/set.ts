import {ipsetLookup} from '../ipset.js'
import {bool, type XtMatchEvaluator} from './evaluator.js'

/** -m set: a lookup in the ipset contents given (EvalContext.ipsets), or an assumption. */
export const setEvaluator: XtMatchEvaluator<'set'> = {
  evaluate(m, w) {
    const r = ipsetLookup(w, m.setName, m.directions)
    if ('unknown' in r) return {ok: false, unknown: `${m.negated ? '! ' : ''}--match-set ${m.setName} ${m.directions.join(',')}: ${r.unknown}: assumed no match`}
    return bool(r.ok !== m.negated)
  },
  harmlessOptions: ['update-counters', 'update-subcounters'],
}
