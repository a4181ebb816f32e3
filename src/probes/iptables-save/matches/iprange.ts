import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {Bad, XtMatchParser} from '../extension.js'

function addrRange(v: string | undefined, bad: Bad, what: string): {from: string; to: string} {
  const parts = (v ?? '').split('-')
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    bad(`${what}: bad range "${v ?? ''}"`)
    return {from: parts[0] ?? '', to: parts[1] ?? parts[0] ?? ''}
  }
  return {from: parts[0], to: parts[1]}
}

/** libxt_iprange: `--src-range A-B`, `--dst-range A-B`. */
export const iprangeMatch: XtMatchParser = {
  names: ['iprange'],
  parse(module, x) {
    const m: XtModuleMatch = {module, kind: 'iprange'}
    const s = x.take('src-range')
    if (s) m.srcRange = {negated: s.negated, ...addrRange(x.one(s), x.bad, x.what)}
    const d = x.take('dst-range')
    if (d) m.dstRange = {negated: d.negated, ...addrRange(x.one(d), x.bad, x.what)}
    return m
  },
}
