import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'
import {portRange} from '../values.js'

/** libxt_MASQUERADE: `--to-ports 1024-65535`, `--random`, `--random-fully`. */
export const masqueradeTarget: XtTargetParser = {
  names: ['MASQUERADE'],
  parse(name, x) {
    const tp = x.take('to-ports')
    const ports = tp ? portRange(x.one(tp) ?? '', '-', x.bad, `${x.what} --to-ports`) : undefined
    const t: XtTarget = {name, kind: 'masquerade', random: x.flag('random'), randomFully: x.flag('random-fully')}
    if (ports) t.toPorts = ports
    return t
  },
}
