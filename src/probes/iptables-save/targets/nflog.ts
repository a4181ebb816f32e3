import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'
import {intValue} from '../values.js'

/** libxt_NFLOG: `--nflog-group 100 --nflog-prefix "x"`. */
export const nflogTarget: XtTargetParser = {
  names: ['NFLOG'],
  parse(name, x) {
    const t: XtTarget = {name, kind: 'nflog'}
    const g = x.take('nflog-group')
    if (g) t.group = intValue(x.one(g), x.bad, `${x.what} --nflog-group`)
    const p = x.take('nflog-prefix')
    if (p) t.prefix = x.one(p)
    return t
  },
}
