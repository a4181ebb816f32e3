import type {XtMatchParser} from '../extension.js'
import {intValue} from '../values.js'

/** libxt_statistic: `--mode random --probability P` (kube-proxy's endpoint choice) or `--mode nth --every N [--packet P]`. */
export const statisticMatch: XtMatchParser = {
  names: ['statistic'],
  parse(module, x) {
    const mode = x.take('mode')
    const modeName = mode ? x.one(mode) : undefined
    if (modeName === 'random') {
      const pr = x.take('probability')
      const v = pr ? x.one(pr) : undefined
      const n = v === undefined ? NaN : Number(v)
      if (!pr) x.bad(`${x.what} --mode random without --probability`)
      else if (!Number.isFinite(n) || n < 0 || n > 1) x.bad(`${x.what} --probability "${v}" is not between 0 and 1`)
      return {module, kind: 'statistic', mode: 'random', negated: pr?.negated ?? false, probability: Number.isFinite(n) ? n : 0}
    }
    if (modeName === 'nth') {
      const ev = x.take('every')
      const pk = x.take('packet')
      const every = ev ? intValue(x.one(ev), x.bad, `${x.what} --every`) : undefined
      if (!ev) x.bad(`${x.what} --mode nth without --every`)
      const packet = pk ? intValue(x.one(pk), x.bad, `${x.what} --packet`) : 0
      return {module, kind: 'statistic', mode: 'nth', negated: (ev?.negated ?? false) || (pk?.negated ?? false), every: every ?? 0, packet: packet ?? 0}
    }
    x.bad(`${x.what} with unknown --mode "${modeName ?? ''}"`)
    return {module, kind: 'other', options: x.all, uninterpreted: x.all.map((o) => o.name)}
  },
}
