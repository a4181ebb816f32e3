import type {XtMatchEvaluator} from './evaluator.js'

/**
 * xt_physdev on a packet without bridge info (a routed packet: no br_netfilter data): every non-inverted option
 * fails and inverted ones pass (physdev_mt's `!nf_bridge_info_exists(skb)` branch).
 */
export const physdevEvaluator: XtMatchEvaluator<'physdev'> = {
  evaluate(m) {
    const opts = [m.physdevIn, m.physdevOut, m.isIn, m.isOut, m.isBridged].filter((o) => o !== undefined)
    const ok = opts.every((o) => o.negated)
    return {ok, unknown: '-m physdev: assumed a routed packet, not one crossing a bridge (no br_netfilter info)'}
  },
}
