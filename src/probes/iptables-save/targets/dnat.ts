import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'
import {natRange} from './nat-range.js'

/** libxt_DNAT: `--to-destination 10.42.0.51:80`, `--random`, `--persistent`. */
export const dnatTarget: XtTargetParser = {
  names: ['DNAT'],
  parse(name, x) {
    const to = x.take('to-destination')
    const range = to ? natRange(x.one(to) ?? '', x.bad, x.what) : undefined
    const t: XtTarget = {name, kind: 'dnat', random: x.flag('random'), persistent: x.flag('persistent')}
    if (range) t.to = range
    return t
  },
}
