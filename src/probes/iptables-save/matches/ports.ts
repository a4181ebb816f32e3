import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {XtMatchParser} from '../extension.js'
import {portMatch, splitList} from '../values.js'

/** libxt_tcp, libxt_udp and the other single-port protocol matches: `--sport`, `--dport`; tcp adds `--tcp-flags` and `--syn`. */
export const portsMatch: XtMatchParser = {
  names: ['tcp', 'udp', 'udplite', 'sctp', 'dccp'],
  parse(module, x) {
    const m: XtModuleMatch = {module, kind: 'ports'}
    const sp = x.take('sport', 'source-port')
    if (sp) m.sport = portMatch(x, sp, false)
    const dp = x.take('dport', 'destination-port')
    if (dp) m.dport = portMatch(x, dp, false)
    if (module === 'tcp') {
      const fl = x.take('tcp-flags')
      if (fl) {
        if (fl.values.length !== 2) x.bad(`${x.what} --tcp-flags expects MASK COMP`)
        m.tcpFlags = {negated: fl.negated, mask: splitList(fl.values[0]), compare: splitList(fl.values[1])}
      }
      const syn = x.take('syn')
      if (syn) m.syn = {negated: syn.negated}
    }
    return m
  },
}
