import type {XtMatchParser} from '../extension.js'
import {parseMarkMatch} from './mark.js'

/** libxt_connmark: `-m connmark --mark 0x1/0x1` compares the connection's mark. */
export const connmarkMatch: XtMatchParser = {
  names: ['connmark'],
  parse: (_module, x) => parseMarkMatch('connmark', x),
}
