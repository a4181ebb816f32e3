import type {MarkOp} from '../model/mark.js'
import type {MarkWrite} from '../model/program-summary.js'

/**
 * A store to skb->mark as a mark operation (model/mark.ts): the one translation `trace` and `marks` share. A
 * write the analysis could not follow is never "no change": it comes back as the operation over every bit it
 * may change (the constant bits it sets, the unknown ones written as 0) plus those unknown bits, for the caller
 * to say they are unknown.
 */
export interface MarkWriteEffect {
  op: MarkOp
  /** Bits whose value after the write is not known: 0 unless the write's op is 'unknown'. */
  unknownBits: number
}

export function markWriteEffect(w: MarkWrite): MarkWriteEffect {
  const unknownBits = w.unknownBits >>> 0
  switch (w.op) {
    case 'set':
      return {op: {kind: 'set', target: 'packet', value: w.value}, unknownBits}
    case 'or':
      return {op: {kind: 'or', target: 'packet', value: w.value}, unknownBits}
    case 'and':
      return {op: {kind: 'and', target: 'packet', value: w.value}, unknownBits}
    case 'xor':
      return {op: {kind: 'xor', target: 'packet', value: w.value}, unknownBits}
    case 'set-xmark':
      return {op: {kind: 'set-xmark', target: 'packet', value: w.value, mask: w.mask}, unknownBits}
    case 'set-masked':
    case 'unknown':
      return {op: {kind: 'set-mark', target: 'packet', value: w.value, mask: w.mask}, unknownBits}
  }
}
