import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'
import {natRange} from './nat-range.js'

/** libxt_SNAT: `--to-source 192.0.2.1`, `--random`, `--random-fully`, `--persistent`. */
export const snatTarget: XtTargetParser = {
  names: ['SNAT'],
  parse(name, x) {
    const to = x.take('to-source')
    const range = to ? natRange(x.one(to) ?? '', x.bad, x.what) : undefined
    const t: XtTarget = {name, kind: 'snat', random: x.flag('random'), persistent: x.flag('persistent'), randomFully: x.flag('random-fully')}
    if (range) t.to = range
    return t
  },
}
