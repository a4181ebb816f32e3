import type {XtModuleMatch} from '../../../model/netfilter.js'
import {bool, type XtMatchEvaluator} from './evaluator.js'

/** -m statistic is decided by the branch point the walker opened for it (Walk.forced). */
export const statisticEvaluator: XtMatchEvaluator<'statistic'> = {
  evaluate(m, w) {
    const f = w.forced.get(m)
    if (f !== undefined) return bool(f)
    return {ok: false, unknown: '-m statistic outside a branch point: assumed no match'}
  },
}

/** For statistic branch points: the probability a statistic match holds when reached. */
export function statisticProbability(m: Extract<XtModuleMatch, {kind: 'statistic'}>): number {
  const p = m.mode === 'random' ? m.probability : m.every > 0 ? 1 / m.every : 0
  return m.negated ? 1 - p : p
}
