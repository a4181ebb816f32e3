import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'

/** libxt_REJECT: `--reject-with icmp-port-unreachable`. */
export const rejectTarget: XtTargetParser = {
  names: ['REJECT'],
  parse(name, x) {
    const t: XtTarget = {name, kind: 'reject'}
    const w = x.take('reject-with')
    if (w) t.rejectWith = x.one(w)
    return t
  },
}
