import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {Walk} from '../state.js'
import {addrtypeEvaluator} from './addrtype.js'
import {commentEvaluator} from './comment.js'
import {conntrackEvaluator} from './conntrack.js'
import type {MatchEval, XtMatchEvaluator, XtMatchKind} from './evaluator.js'
import {icmpEvaluator} from './icmp.js'
import {iprangeEvaluator} from './iprange.js'
import {connmarkEvaluator, markEvaluator} from './mark.js'
import {multiportEvaluator} from './multiport.js'
import {otherEvaluator} from './other.js'
import {ownerEvaluator} from './owner.js'
import {physdevEvaluator} from './physdev.js'
import {portsEvaluator} from './ports.js'
import {rpfilterEvaluator} from './rpfilter.js'
import {setEvaluator} from './set.js'
import {socketEvaluator} from './socket.js'
import {stateEvaluator} from './state.js'
import {statisticEvaluator} from './statistic.js'

/** One evaluator per typed match kind (the type makes a new kind without one a compile error). */
const XT_MATCH_EVALUATORS: {readonly [K in XtMatchKind]: XtMatchEvaluator<K>} = {
  ports: portsEvaluator,
  multiport: multiportEvaluator,
  mark: markEvaluator,
  connmark: connmarkEvaluator,
  conntrack: conntrackEvaluator,
  state: stateEvaluator,
  comment: commentEvaluator,
  statistic: statisticEvaluator,
  set: setEvaluator,
  addrtype: addrtypeEvaluator,
  socket: socketEvaluator,
  physdev: physdevEvaluator,
  rpfilter: rpfilterEvaluator,
  owner: ownerEvaluator,
  icmp: icmpEvaluator,
  iprange: iprangeEvaluator,
  other: otherEvaluator,
}

/** A match extension against the packet; options its parse left uninterpreted make it an assumption. */
export function evalXtModule(m: XtModuleMatch, w: Walk): MatchEval {
  const e = XT_MATCH_EVALUATORS[m.kind] as XtMatchEvaluator<XtMatchKind>
  const r = e.evaluate(m as never, w)
  const harmless = e.harmlessOptions ?? []
  const extra = (m.uninterpreted ?? []).filter((o) => !harmless.includes(o))
  if (extra.length === 0 || !r.ok) return r
  return {ok: false, unknown: `-m ${m.module} option${extra.length > 1 ? 's' : ''} ${extra.map((o) => `--${o}`).join(' ')} not evaluated: assumed no match`}
}
