import type {ExtensionOptions, XtMatchParser} from '../extension.js'
import {markValue} from '../values.js'
import type {XtModuleMatch} from '../../../model/netfilter.js'

/** `--mark VALUE[/MASK]` of libxt_mark and libxt_connmark. */
export function parseMarkMatch(module: 'mark' | 'connmark', x: ExtensionOptions): XtModuleMatch {
  const o = x.take('mark')
  const mark = o ? markValue(x, o) : undefined
  if (!o) x.bad(`${x.what} without --mark`)
  return {module, kind: module, negated: o?.negated ?? false, mark: mark ?? {value: 0, mask: 0}}
}

/** libxt_mark: `-m mark --mark 0x4000/0x4000` compares the packet mark. */
export const markMatch: XtMatchParser = {
  names: ['mark'],
  parse: (_module, x) => parseMarkMatch('mark', x),
}
