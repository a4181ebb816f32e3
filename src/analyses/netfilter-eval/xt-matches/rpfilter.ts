import {bool, type XtMatchEvaluator} from './evaluator.js'

/**
 * -m rpfilter (xt_rpfilter: the reverse-path lookup of fib_validate_source as a match, kn-22): with the route back
 * to the source given (the kernel's answer), strict passes when it leaves by the input device, --loose when there
 * is one; --invert matches a failed check. Without it, the check is assumed to pass.
 */
export const rpfilterEvaluator: XtMatchEvaluator<'rpfilter'> = {
  evaluate: (m, w) => {
    const back = w.pkt.reversePath
    if (!back) return {ok: !m.invert, unknown: `-m rpfilter${m.invert ? ' --invert' : ''}: assumed the reverse-path check passes`}
    const passes = back.dev !== undefined && (m.loose || back.dev === w.pkt.iif)
    return bool(passes !== m.invert)
  },
}
