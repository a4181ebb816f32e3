import type {XtMatchParser} from '../extension.js'
import {valueSet} from '../values.js'

/** libxt_state: `-m state --state NEW,ESTABLISHED`. */
export const stateMatch: XtMatchParser = {
  names: ['state'],
  parse(module, x) {
    const st = x.take('state')
    if (!st) x.bad(`${x.what} without --state`)
    return {module, kind: 'state', state: st ? valueSet(x, st) : {negated: false, values: []}}
  },
}
