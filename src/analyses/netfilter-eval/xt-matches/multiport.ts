import {no, yes, type XtMatchEvaluator} from './evaluator.js'

/** -m multiport: any port in the lists. */
export const multiportEvaluator: XtMatchEvaluator<'multiport'> = {
  evaluate(m, w) {
    const p = w.pkt
    for (const [pm, ports, opt] of [
      [m.sports, [p.sport], 'sports'],
      [m.dports, [p.dport], 'dports'],
      [m.ports, [p.sport, p.dport], 'ports'],
    ] as const) {
      if (!pm) continue
      if (ports.some((x) => x === undefined)) return {ok: false, unknown: `-m multiport --${opt}: the packet's ports are not given: assumed no match`}
      // --ports: either port in the list (xt_multiport ports_match_v1 with XT_MULTIPORT_EITHER)
      const any = ports.some((x) => pm.ranges.some((r) => x! >= r.from && x! <= r.to))
      if (any === pm.negated) return no
    }
    return yes
  },
}
