import {FULL_MASK, type MarkOp, type MarkShift, type MarkTarget} from '../../../model/mark.js'
import type {ExtensionOptions, XtTargetParser} from '../extension.js'
import {intValue, markValue, u32Value} from '../values.js'

/** MARK / CONNMARK options as libxt_MARK / libxt_CONNMARK (rev 1-2) define them. */
export function markOp(name: 'MARK' | 'CONNMARK', x: ExtensionOptions): MarkOp | undefined {
  const what = x.what
  const target: MarkTarget = name === 'MARK' ? 'packet' : 'conntrack'
  const found: MarkOp[] = []
  for (const o of x.all) {
    switch (o.name) {
      case 'set-xmark':
      case 'set-mark': {
        x.used.push(o)
        const m = markValue(x, o)
        if (!m) break
        // `--set-mark V` without mask rewrites the whole mark; iptables-save prints it as --set-xmark V/0xffffffff.
        if (o.name === 'set-mark' && m.mask === FULL_MASK) found.push({kind: 'set', target, value: m.value})
        else found.push({kind: o.name, target, value: m.value, mask: m.mask})
        break
      }
      case 'and-mark':
      case 'or-mark':
      case 'xor-mark': {
        x.used.push(o)
        const v = u32Value(x, o)
        if (v !== undefined) found.push({kind: o.name.slice(0, -5) as 'and' | 'or' | 'xor', target, value: v})
        break
      }
      case 'save-mark':
      case 'restore-mark': {
        if (name !== 'CONNMARK') break
        x.used.push(o)
        if (o.values.length > 0) x.bad(`${what} --${o.name} takes no value`)
        found.push({kind: o.name === 'save-mark' ? 'save' : 'restore', nfmask: FULL_MASK, ctmask: FULL_MASK})
        break
      }
    }
  }
  if (found.length !== 1) {
    x.bad(found.length === 0 ? `${what} without an operation (--set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark${name === 'CONNMARK' ? ', --save-mark, --restore-mark' : ''})` : `${what} with ${found.length} operations`)
    if (found.length === 0) return undefined
  }
  const op = found[0]!
  if (op.kind === 'save' || op.kind === 'restore') {
    const mask = x.take('mask')
    const nf = x.take('nfmask')
    const ct = x.take('ctmask')
    if (mask) {
      const v = u32Value(x, mask)
      if (v !== undefined) op.nfmask = op.ctmask = v
    }
    if (nf) {
      const v = u32Value(x, nf)
      if (v !== undefined) op.nfmask = v
    }
    if (ct) {
      const v = u32Value(x, ct)
      if (v !== undefined) op.ctmask = v
    }
    const ls = x.take('left-shift-mark')
    const rs = x.take('right-shift-mark')
    const sh = ls ?? rs
    if (sh) {
      const v = intValue(x.one(sh), x.bad, `${what} --${sh.name}`)
      if (v !== undefined && v > 31) x.bad(`${what} --${sh.name} ${v}: more than 31 bits`)
      else if (v !== undefined && v > 0) op.shift = {dir: ls ? 'left' : 'right', bits: v} satisfies MarkShift
    }
  }
  return op
}

/** libxt_MARK: the packet mark, `--set-xmark V/M` and the and/or/xor forms. */
export const markTarget: XtTargetParser = {
  names: ['MARK'],
  parse(name, x) {
    const op = markOp('MARK', x)
    return op ? {name, kind: 'mark', op} : {name, kind: 'other', options: x.all}
  },
}
