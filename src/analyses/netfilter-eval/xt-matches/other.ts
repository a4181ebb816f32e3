import type {XtMatchEvaluator} from './evaluator.js'

/** An extension the parse keeps by name only. */
export const otherEvaluator: XtMatchEvaluator<'other'> = {
  evaluate: (m) => ({ok: false, unknown: `-m ${m.module} not evaluated: assumed no match`}),
}
