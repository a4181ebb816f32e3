import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'

/** libxt_LOG: `--log-prefix "x "`, `--log-level 4`. */
export const logTarget: XtTargetParser = {
  names: ['LOG'],
  parse(name, x) {
    const t: XtTarget = {name, kind: 'log'}
    const p = x.take('log-prefix')
    if (p) t.prefix = x.one(p)
    const l = x.take('log-level')
    if (l) t.level = x.one(l)
    return t
  },
}
