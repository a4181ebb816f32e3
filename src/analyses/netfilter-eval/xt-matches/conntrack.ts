import {protoNumber} from '../state.js'
import {ctStates, valueSetHas} from './ct-states.js'
import {bool, no, yes, type XtMatchEvaluator} from './evaluator.js'

/** -m conntrack for a connection's first packet. */
export const conntrackEvaluator: XtMatchEvaluator<'conntrack'> = {
  evaluate(m, w) {
    if (m.ctstate && !valueSetHas(m.ctstate, ctStates(w, true))) return no
    // xt_conntrack without a ct (untracked): only the state test applies (conntrack_mt returns early).
    if (w.untracked) return bool(m.ctstate !== undefined)
    if (m.ctstatus) {
      // A first packet is not yet CONFIRMED, ASSURED, EXPECTED or SEEN_REPLY; a reply makes it CONFIRMED and SEEN_REPLY.
      if (!valueSetHas(m.ctstatus, new Set(w.pkt.ct?.established ? ['CONFIRMED', 'SEEN_REPLY'] : ['NONE']))) return no
    }
    const dir = w.pkt.ct?.established ? 'REPLY' : 'ORIGINAL'
    if (m.ctdir && (m.ctdir.dir.toUpperCase() === dir) === m.ctdir.negated) return no
    if (m.ctproto) {
      const have = protoNumber(w.pkt.proto)
      if (m.ctproto.values.some((v) => protoNumber(v) === have) === m.ctproto.negated) return no
    }
    return yes
  },
}
