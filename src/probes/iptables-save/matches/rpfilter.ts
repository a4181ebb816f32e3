import type {XtMatchParser} from '../extension.js'

/** libxt_rpfilter: a reverse-path route lookup; `--validmark` makes the packet mark part of it. */
export const rpfilterMatch: XtMatchParser = {
  names: ['rpfilter'],
  parse: (module, x) => ({module, kind: 'rpfilter', loose: x.flag('loose'), validmark: x.flag('validmark'), acceptLocal: x.flag('accept-local'), invert: x.flag('invert')}),
}
