import {inRange, parseIp} from '../addr.js'
import {no, yes, type XtMatchEvaluator} from './evaluator.js'

/** -m iprange --src-range / --dst-range. */
export const iprangeEvaluator: XtMatchEvaluator<'iprange'> = {
  evaluate(m, w) {
    const p = w.pkt
    for (const [range, addr, opt] of [
      [m.srcRange, p.src, 'src-range'],
      [m.dstRange, p.dst, 'dst-range'],
    ] as const) {
      if (!range) continue
      const a = parseIp(addr)
      const from = parseIp(range.from)
      const to = parseIp(range.to)
      if (!a || !from || !to) return {ok: false, unknown: `-m iprange --${opt} ${range.from}-${range.to}: addresses not understood: assumed no match`}
      if (inRange(a, from, to) === range.negated) return no
    }
    return yes
  },
}
