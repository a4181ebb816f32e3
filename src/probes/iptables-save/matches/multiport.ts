import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {XtMatchParser} from '../extension.js'
import {portMatch} from '../values.js'

/** libxt_multiport: `--sports`, `--dports` or `--ports` (either side) with comma lists. */
export const multiportMatch: XtMatchParser = {
  names: ['multiport'],
  parse(module, x) {
    const m: XtModuleMatch = {module, kind: 'multiport'}
    const s = x.take('sports', 'source-ports')
    if (s) m.sports = portMatch(x, s, true)
    const d = x.take('dports', 'destination-ports')
    if (d) m.dports = portMatch(x, d, true)
    const b = x.take('ports')
    if (b) m.ports = portMatch(x, b, true)
    if (!s && !d && !b) x.bad(`${x.what} without --sports, --dports or --ports`)
    return m
  },
}
