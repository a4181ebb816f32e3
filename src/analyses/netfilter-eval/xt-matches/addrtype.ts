import {addressType, parseIp} from '../addr.js'
import {valueSetHas} from './ct-states.js'
import {no, yes, type XtMatchEvaluator} from './evaluator.js'

/** -m addrtype against the netns's local addresses. */
export const addrtypeEvaluator: XtMatchEvaluator<'addrtype'> = {
  evaluate(m, w) {
    const notes: string[] = []
    for (const [vs, addrText, opt] of [
      [m.srcType, w.pkt.src, 'src-type'],
      [m.dstType, w.pkt.dst, 'dst-type'],
    ] as const) {
      if (!vs) continue
      const a = parseIp(addrText)
      if (!a) return {ok: false, unknown: `-m addrtype --${opt}: packet address "${addrText}" not understood: assumed no match`}
      const t = addressType(a, w.local)
      if (t.assumed && vs.values.some((v) => v.toUpperCase() !== 'LOCAL' && v.toUpperCase() !== 'MULTICAST' && v.toUpperCase() !== 'BROADCAST'))
        notes.push(`-m addrtype --${opt} ${vs.values.join(',')}: ${addrText} has no known type: assumed UNICAST`)
      if (valueSetHas(vs, new Set([t.type])) === false) return notes.length ? {ok: false, unknown: notes.join('; ')} : no
    }
    if (w.local.length === 0 && [m.srcType, m.dstType].some((vs) => vs?.values.some((v) => v.toUpperCase() === 'LOCAL')))
      notes.push('-m addrtype LOCAL: no local addresses were given: only loopback addresses count as LOCAL')
    if (m.limitIfaceIn || m.limitIfaceOut)
      notes.push(`-m addrtype --limit-iface-${m.limitIfaceIn ? 'in' : 'out'}: which addresses sit on which device is not known: assumed a local address counts on any device`)
    return notes.length ? {ok: true, unknown: notes.join('; ')} : yes
  },
}
