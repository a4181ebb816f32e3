import type {XtTargetParser} from '../extension.js'
import {markOp} from './mark.js'

/** libxt_CONNMARK: the connection's mark, and `--save-mark` / `--restore-mark` between it and the packet's. */
export const connmarkTarget: XtTargetParser = {
  names: ['CONNMARK'],
  parse(name, x) {
    const op = markOp('CONNMARK', x)
    return op ? {name, kind: 'connmark', op} : {name, kind: 'other', options: x.all}
  },
}
