/**
 * What the interpreter knows of a register or stack slot: the ctx pointer, a stack pointer, a map, another
 * pointer, an unknown that may be ctx, or a scalar of bit classes (bit-lattice.ts); and the join of two states
 * where branches meet. The ctx pointer is tracked because the verifier rewrote `__sk_buff.mark` into
 * `*(u32 *)(ctx +offsetof(struct sk_buff, mark))` (docs/kernel-notes.md#kn-4-xlated-mark-offset): a store is a
 * mark write only through ctx.
 */
import type {MemSize} from '../model/xlated.js'
import {sameBits, UNK, unknownBits, type Bits} from './bit-lattice.js'

export type Val =
  | {k: 'ctx'}
  | {k: 'scalar'; b: Bits}
  /** Pointer into this function's stack frame at r10 + off. */
  | {k: 'fp'; off: number}
  /** May point into a stack (offset unknown, or the caller's frame). */
  | {k: 'fpx'}
  | {k: 'map'; id: number}
  /** Not the ctx pointer; otherwise unknown (a helper's result, a map value, a packet pointer…). */
  | {k: 'other'}
  /** Unknown; possibly the ctx pointer. */
  | {k: 'top'}

export const CTX: Val = {k: 'ctx'}
export const FPX: Val = {k: 'fpx'}
export const OTHER: Val = {k: 'other'}
export const TOP: Val = {k: 'top'}

export const NREGS = 12 // r0-r10 and r11 (AX, used by verifier rewrites)

interface Slot {
  size: MemSize
  v: Val
}

export interface State {
  regs: Val[]
  /** Spill slots of this frame by offset from r10. */
  stack: Map<number, Slot>
}

export const scalar = (b: Bits): Val => ({k: 'scalar', b})

/** The bits of a value for arithmetic: a non-scalar (pointer or unknown) is an unknown scalar. */
export const bitsOf = (v: Val): Bits => (v.k === 'scalar' ? v.b : unknownBits(64))

function valEq(a: Val, b: Val): boolean {
  if (a === b) return true
  if (a.k !== b.k) return false
  if (a.k === 'scalar') return sameBits(a.b, (b as {b: Bits}).b)
  if (a.k === 'fp') return a.off === (b as {off: number}).off
  if (a.k === 'map') return a.id === (b as {id: number}).id
  return true
}

export const mayBeStack = (v: Val): boolean => v.k === 'fp' || v.k === 'fpx' || v.k === 'top'

function joinVal(a: Val, b: Val): Val {
  if (valEq(a, b)) return a
  if (a.k === 'top' || b.k === 'top' || a.k === 'ctx' || b.k === 'ctx') return TOP
  if (a.k === 'scalar' && b.k === 'scalar') {
    const r = new Int8Array(64)
    for (let i = 0; i < 64; i++) r[i] = a.b[i] === b.b[i] ? a.b[i]! : UNK
    return scalar(r)
  }
  if (mayBeStack(a) || mayBeStack(b)) return FPX
  return OTHER
}

export function cloneState(s: State): State {
  return {regs: s.regs.slice(), stack: new Map(s.stack)}
}

export function joinState(a: State, b: State): State {
  const regs = a.regs.map((v, i) => joinVal(v, b.regs[i]!))
  const stack = new Map<number, Slot>()
  for (const [off, sa] of a.stack) {
    const sb = b.stack.get(off)
    if (sb && sb.size === sa.size) stack.set(off, {size: sa.size, v: joinVal(sa.v, sb.v)})
  }
  return {regs, stack}
}

export function stateEq(a: State, b: State): boolean {
  for (let i = 0; i < NREGS; i++) if (!valEq(a.regs[i]!, b.regs[i]!)) return false
  if (a.stack.size !== b.stack.size) return false
  for (const [off, sa] of a.stack) {
    const sb = b.stack.get(off)
    if (!sb || sb.size !== sa.size || !valEq(sa.v, sb.v)) return false
  }
  return true
}
