import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'

/** libxt_CT: `--notrack`, `--zone N`, `--helper NAME`. */
export const ctTarget: XtTargetParser = {
  names: ['CT'],
  parse(name, x) {
    const t: XtTarget = {name, kind: 'ct', notrack: x.flag('notrack')}
    const z = x.take('zone') ?? x.take('zone-orig', 'zone-reply')
    if (z) t.zone = x.one(z)
    const h = x.take('helper')
    if (h) t.helper = x.one(h)
    return t
  },
}
