import type {XtMatchParser} from '../extension.js'
import {splitList} from '../values.js'

/** libxt_set: `-m set --match-set NAME src,dst`, an ipset lookup (the set's contents are not in the dump). */
export const setMatch: XtMatchParser = {
  names: ['set'],
  parse(module, x) {
    const ms = x.take('match-set', 'set')
    if (!ms || ms.values.length !== 2) x.bad(`${x.what} expects --match-set NAME src|dst[,…]`)
    return {module, kind: 'set', negated: ms?.negated ?? false, setName: ms?.values[0] ?? '', directions: splitList(ms?.values[1])}
  },
}
