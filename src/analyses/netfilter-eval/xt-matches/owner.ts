import type {XtMatchEvaluator} from './evaluator.js'

/** -m owner: the sending socket is not part of the traced packet. */
export const ownerEvaluator: XtMatchEvaluator<'owner'> = {
  evaluate: () => ({ok: false, unknown: "-m owner: the sending socket's owner is not known: assumed no match"}),
}
