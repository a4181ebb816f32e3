import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'
import {portRange} from '../values.js'

/** libxt_REDIRECT: `--to-ports 15001`, `--random`. */
export const redirectTarget: XtTargetParser = {
  names: ['REDIRECT'],
  parse(name, x) {
    const tp = x.take('to-ports')
    const ports = tp ? portRange(x.one(tp) ?? '', '-', x.bad, `${x.what} --to-ports`) : undefined
    const t: XtTarget = {name, kind: 'redirect', random: x.flag('random')}
    if (ports) t.toPorts = ports
    return t
  },
}
