import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {XtMatchParser} from '../extension.js'
import {parseIface} from '../values.js'

/** libxt_physdev: the bridge ports a bridged packet came in or goes out on. */
export const physdevMatch: XtMatchParser = {
  names: ['physdev'],
  parse(module, x) {
    const m: XtModuleMatch = {module, kind: 'physdev'}
    const pi = x.take('physdev-in')
    if (pi) m.physdevIn = {negated: pi.negated, iface: parseIface(x.one(pi) ?? '')}
    const po = x.take('physdev-out')
    if (po) m.physdevOut = {negated: po.negated, iface: parseIface(x.one(po) ?? '')}
    const ii = x.take('physdev-is-in')
    if (ii) m.isIn = {negated: ii.negated}
    const io = x.take('physdev-is-out')
    if (io) m.isOut = {negated: io.negated}
    const ib = x.take('physdev-is-bridged')
    if (ib) m.isBridged = {negated: ib.negated}
    return m
  },
}
