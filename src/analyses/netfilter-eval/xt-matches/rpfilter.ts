import type {XtMatchEvaluator} from './evaluator.js'

/** -m rpfilter: the reverse-path route lookup needs the routing tables: assume the source is reachable back through iif. */
export const rpfilterEvaluator: XtMatchEvaluator<'rpfilter'> = {
  evaluate: (m) => ({ok: !m.invert, unknown: `-m rpfilter${m.invert ? ' --invert' : ''}: assumed the reverse-path check passes`}),
}
