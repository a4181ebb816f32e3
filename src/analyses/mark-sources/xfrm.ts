import {hex} from '../../model/mark.js'
import type {XfrmPolicy, XfrmState} from '../../model/xfrm.js'
import {markText, type MarkUsage} from '../mark-usage.js'
import type {MarkSource} from './source.js'
import {enrich, matchUsage, writeUsage, type UsageIds} from './usage.js'

/** IPsec states and policies selected by mark (`mark 0xd00/0xf00`), and states that set an output mark. */
function usagesFromXfrm(states: readonly XfrmState[], policies: readonly XfrmPolicy[], ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  for (const s of states) {
    const detail = `state ${s.src} → ${s.dst} ${s.proto} spi ${s.spi !== undefined ? hex(s.spi) : '?'} reqid ${s.reqid}`
    if (s.mark) out.push(enrich(matchUsage(ids.next(), 'xfrm', 'packet', s.mark, false, {hooks: ['xfrm state selection'], detail, place: detail, showHooks: false}, undefined, `xfrm ${detail} mark ${markText(s.mark.value, s.mark.mask)}`, 'lookup', 'kernel'), {}))
    if (s.outputMark) {
      const u = writeUsage(ids.next(), 'xfrm', {kind: 'set-mark', target: 'packet', value: s.outputMark.value & s.outputMark.mask, mask: s.outputMark.mask}, {hooks: ['xfrm (after transformation)'], detail, place: detail, showHooks: false}, undefined, 'kernel', `xfrm ${detail} output-mark ${markText(s.outputMark.value, s.outputMark.mask)}`)
      out.push(enrich(u, {}))
    }
  }
  for (const p of policies) {
    if (!p.mark) continue
    const detail = `policy dir ${p.dir} ${p.selector.src.address}/${p.selector.src.prefixLen} → ${p.selector.dst.address}/${p.selector.dst.prefixLen} ${p.action}`
    out.push(enrich(matchUsage(ids.next(), 'xfrm', 'packet', p.mark, false, {hooks: [`xfrm policy ${p.dir}`], detail, place: detail, showHooks: false}, undefined, `xfrm ${detail} mark ${markText(p.mark.value, p.mark.mask)}`, 'lookup', 'kernel'), {}))
  }
  return out
}

export const xfrmSource: MarkSource = {
  id: 'xfrm',
  reads: ['xfrmStates', 'xfrmPolicies'],
  usages: (facts, ids) => usagesFromXfrm(facts.xfrmStates, facts.xfrmPolicies, ids),
}
