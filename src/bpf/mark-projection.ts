/**
 * The projection of the abstract state onto skb->mark: the 32 classes of the mark after a store read as one
 * netfilter-style operation (`mark |= 0x4000`…), a conditional jump on mark-derived bits read as a mark match,
 * and which bytes of a ctx access cover the mark.
 */
import type {JumpOp} from '../model/xlated.js'
import {constOf, isMarkBit, MARK, markIndex, NOT, ONE, UNK, ZERO, type Bits} from './bit-lattice.js'
import type {Val} from './abstract-state.js'
import type {MarkMatch, MarkWrite} from '../model/program-summary.js'

const FULL = 0xffffffff
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`

/** Translate the 32 classes of the mark after a store into an operation. */
export function markWriteOf(after: Bits): Pick<MarkWrite, 'op' | 'value' | 'mask' | 'unknownBits' | 'expr'> {
  let identity = 0
  let inverted = 0
  let ones = 0
  let zeros = 0
  for (let k = 0; k < 32; k++) {
    const c = after[k]!
    const bit = 2 ** k
    if (c === MARK + k) identity += bit
    else if (c === NOT + k) inverted += bit
    else if (c === ONE) ones += bit
    else if (c === ZERO) zeros += bit
  }
  const constant = ones + zeros
  const unknown = FULL - identity - inverted - constant
  if (unknown === 0) {
    if (constant === FULL) return {op: 'set', value: ones, mask: FULL, unknownBits: 0, expr: `mark = ${hex(ones)}`}
    if (inverted === 0) {
      if (constant === 0) return {op: 'set-masked', value: 0, mask: 0, unknownBits: 0, expr: 'mark = mark (unchanged)'}
      if (zeros === 0) return {op: 'or', value: ones, mask: ones, unknownBits: 0, expr: `mark |= ${hex(ones)}`}
      if (ones === 0) return {op: 'and', value: FULL - zeros, mask: zeros, unknownBits: 0, expr: `mark &= ${hex(FULL - zeros)}`}
      return {op: 'set-masked', value: ones, mask: constant, unknownBits: 0, expr: `mark = (mark & ~${hex(constant)}) | ${hex(ones)}`}
    }
    if (constant === 0) return {op: 'xor', value: inverted, mask: inverted, unknownBits: 0, expr: `mark ^= ${hex(inverted)}`}
    return {op: 'set-xmark', value: ones + inverted, mask: constant, unknownBits: 0, expr: `mark = (mark & ~${hex(constant)}) ^ ${hex(ones + inverted)}`}
  }
  const unk = unknown + inverted
  const parts = [`${hex(unk)} not known`]
  if (ones) parts.push(`${hex(ones)} set`)
  if (zeros) parts.push(`${hex(zeros)} cleared`)
  if (identity) parts.push(`${hex(identity)} kept`)
  return {op: 'unknown', value: ones, mask: FULL - identity, unknownBits: unk, expr: `mark = <computed>: bits ${parts.join(', ')}`}
}

const MIRROR: Readonly<Record<JumpOp, JumpOp>> = {'==': '==', '!=': '!=', '&': '&', '>': '<', '<': '>', '>=': '<=', '<=': '>=', 's>': 's<', 's<': 's>', 's>=': 's<=', 's<=': 's>='}

function hasMarkBits(b: Bits, width: number): boolean {
  for (let i = 0; i < width; i++) if (isMarkBit(b[i]!)) return true
  return false
}

function markSources(b: Bits, width: number, only?: bigint): number {
  let m = 0
  for (let i = 0; i < width; i++) if (isMarkBit(b[i]!) && (only === undefined || (only >> BigInt(i)) & 1n)) m |= 1 << markIndex(b[i]!)
  return m >>> 0
}

/** A compare of `d` (mark-derived bits) with the constant `c` over `width` bits. */
function markMatchOf(op: JumpOp, d: Bits, c: bigint, width: 32 | 64): Pick<MarkMatch, 'kind' | 'value' | 'mask' | 'negated' | 'op' | 'width' | 'satisfiable'> | undefined {
  const cu = BigInt.asUintN(width, c)
  const cbit = (i: number): number => Number((cu >> BigInt(i)) & 1n)
  const base = {op, width, negated: false, satisfiable: true}
  if (op === '==' || op === '!=') {
    let value = 0
    let mask = 0
    let satisfiable = true
    for (let i = 0; i < width; i++) {
      const cl = d[i]!
      if (cl === UNK) return {...base, kind: 'unknown', value: 0, mask: markSources(d, width), negated: op === '!='}
      if (cl === ZERO || cl === ONE) {
        if (cl !== cbit(i)) satisfiable = false
        continue
      }
      const k = markIndex(cl)
      const need = cbit(i) ^ (cl >= NOT ? 1 : 0)
      if ((mask >>> k) & 1) {
        if (((value >>> k) & 1) !== need) satisfiable = false
      } else {
        mask |= 1 << k
        value |= need << k
      }
    }
    return {...base, kind: 'match', value: value >>> 0, mask: mask >>> 0, negated: op === '!=', satisfiable}
  }
  if (op === '&') {
    let plain = 0
    let inverted = 0
    for (let i = 0; i < width; i++) {
      if (!cbit(i)) continue
      const cl = d[i]!
      if (cl === ZERO) continue
      if (cl === ONE || cl === UNK) return {...base, kind: 'unknown', value: 0, mask: markSources(d, width, cu)}
      if (cl >= NOT) inverted |= 1 << markIndex(cl)
      else plain |= 1 << markIndex(cl)
    }
    plain >>>= 0
    inverted >>>= 0
    if (inverted === 0 && plain !== 0) {
      if ((plain & (plain - 1)) === 0) return {...base, kind: 'match', value: plain, mask: plain}
      return {...base, kind: 'any-set', value: 0, mask: plain}
    }
    if (plain === 0 && inverted !== 0 && (inverted & (inverted - 1)) === 0) return {...base, kind: 'match', value: 0, mask: inverted}
    if (plain === 0 && inverted === 0) return undefined // the tested bits hold no mark bits
    return {...base, kind: 'unknown', value: 0, mask: (plain | inverted) >>> 0}
  }
  const v = width === 32 ? Number(cu) : cu <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(cu) : Number(BigInt.asIntN(64, cu))
  return {...base, kind: 'ordered', value: v, mask: markSources(d, width)}
}

/**
 * A conditional jump comparing `left` with `right` as a mark match, when either side holds mark bits (the mark
 * is put on the left, the operator mirrored); undefined when neither does.
 */
export function markMatchOfJump(left: Val, right: Val, op: JumpOp, width: 32 | 64): Pick<MarkMatch, 'kind' | 'value' | 'mask' | 'negated' | 'op' | 'width' | 'satisfiable'> | undefined {
  const isMarky = (v: Val): boolean => v.k === 'scalar' && hasMarkBits(v.b, width)
  if (!isMarky(left) && isMarky(right)) {
    ;[left, right] = [right, left]
    op = MIRROR[op]
  }
  if (!isMarky(left) || left.k !== 'scalar') return undefined
  // A jump immediate is sign-extended to 64 bits (JMP) or taken as 32 bits (JMP32); a register is used as is.
  const c = right.k === 'scalar' ? constOf(right.b, width) : undefined
  if (c === undefined) return {kind: 'unknown', value: 0, mask: markSources(left.b, width), negated: op === '!=', op, width, satisfiable: true}
  return markMatchOf(op, left.b, c, width)
}

/** Whether an access of `size` bytes at ctx+off touches the mark's 4 bytes. */
export const overlaps = (off: number, size: number, markOffset: number): boolean => off < markOffset + 4 && off + size > markOffset

export function markBitsCovered(off: number, size: number, markOffset: number): number {
  let m = 0
  for (let byte = off; byte < off + size; byte++) {
    const k = byte - markOffset
    if (k >= 0 && k < 4) m |= 0xff << (8 * k)
  }
  return m >>> 0
}

/** The mark's 32 classes after storing `v` (low `size` bytes) at ctx+off; bytes not covered keep their bits. */
export function markAfterStore(v: Bits, off: number, size: number, markOffset: number): Bits {
  const after = new Int8Array(64)
  for (let k = 0; k < 32; k++) {
    const bit = (markOffset - off) * 8 + k
    after[k] = bit >= 0 && bit < size * 8 ? v[bit]! : MARK + k
  }
  return after
}
