import {yes, type XtMatchEvaluator} from './evaluator.js'

/** -m comment matches every packet. */
export const commentEvaluator: XtMatchEvaluator<'comment'> = {evaluate: () => yes}
