import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {XtMatchParser} from '../extension.js'
import {valueSet} from '../values.js'

/** libxt_addrtype: `--src-type`, `--dst-type` (LOCAL, UNICAST, …), `--limit-iface-in|out`. */
export const addrtypeMatch: XtMatchParser = {
  names: ['addrtype'],
  parse(module, x) {
    const m: XtModuleMatch = {module, kind: 'addrtype', limitIfaceIn: false, limitIfaceOut: false}
    const s = x.take('src-type')
    if (s) m.srcType = valueSet(x, s)
    const d = x.take('dst-type')
    if (d) m.dstType = valueSet(x, d)
    m.limitIfaceIn = x.flag('limit-iface-in')
    m.limitIfaceOut = x.flag('limit-iface-out')
    return m
  },
}
