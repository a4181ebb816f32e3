import type {XtMatchEvaluator} from './evaluator.js'

/** -m socket: a first packet has no established socket; a transparent listener is what TPROXY setups look for. */
export const socketEvaluator: XtMatchEvaluator<'socket'> = {
  evaluate: () => ({ok: false, unknown: '-m socket: which socket the packet belongs to is not known: assumed none (no match)'}),
}
