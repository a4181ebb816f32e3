import {ctStates, valueSetHas} from './ct-states.js'
import {bool, type XtMatchEvaluator} from './evaluator.js'

/** -m state: NEW (or UNTRACKED) for the traced packet. */
export const stateEvaluator: XtMatchEvaluator<'state'> = {
  evaluate: (m, w) => bool(valueSetHas(m.state, ctStates(w, false))),
}
