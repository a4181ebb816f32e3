import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {XtMatchParser} from '../extension.js'
import {valueSet} from '../values.js'

/** libxt_conntrack: `--ctstate`, `--ctstatus`, `--ctdir`, `--ctproto`. */
export const conntrackMatch: XtMatchParser = {
  names: ['conntrack'],
  parse(module, x) {
    const m: XtModuleMatch = {module, kind: 'conntrack'}
    const st = x.take('ctstate')
    if (st) m.ctstate = valueSet(x, st)
    const ss = x.take('ctstatus')
    if (ss) m.ctstatus = valueSet(x, ss)
    const dir = x.take('ctdir')
    if (dir) m.ctdir = {negated: dir.negated, dir: x.one(dir) ?? ''}
    const pr = x.take('ctproto')
    if (pr) m.ctproto = valueSet(x, pr)
    return m
  },
}
