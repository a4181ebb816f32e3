/**
 * The transfer function of the abstract interpreter: what one xlated instruction does to the registers and the
 * stack, and, on the recording pass, which findings of the program summary it yields. Helper calls clobber r1-r5
 * and r0 and keep r6-r9 (the BPF calling convention).
 */
import type {MemSize, XlatedInsn, XlatedOp, XlatedOperand} from '../model/xlated.js'
import {andBit, arith, bitwise, byteSwap, constBits, constOf, MARK, orBit, shift, truncate, UNK, unknownBits, xorBit, type Bits} from './bit-lattice.js'
import {bitsOf, FPX, mayBeStack, NREGS, OTHER, scalar, TOP, type State, type Val} from './abstract-state.js'
import {helperFamily} from './helpers.js'
import {markAfterStore, markBitsCovered, markMatchOfJump, markWriteOf, overlaps} from './mark-projection.js'
import type {HelperCall, MarkLoad, MarkMatch, MarkWrite, ProgramFinding, SubprogramCall, UncertainMarkAccess} from '../model/program-summary.js'

/** The findings of the recording pass. */
export interface Recorder {
  loads: MarkLoad[]
  writes: MarkWrite[]
  matches: MarkMatch[]
  helperCalls: HelperCall[]
  subprogramCalls: SubprogramCall[]
  uncertain: UncertainMarkAccess[]
  notes: Set<string>
}

export const finding = (insn: XlatedInsn): ProgramFinding => {
  const f: ProgramFinding = {pc: insn.pc, disasm: insn.disasm, evidence: 'program'}
  if (insn.src !== undefined) f.src = insn.src
  return f
}

const validReg = (r: number): boolean => Number.isInteger(r) && r >= 0 && r < NREGS

/** Registers an op names; an out-of-range one makes the instruction unusable. */
function regsOf(op: XlatedOp): number[] {
  const src = (o: XlatedOperand): number[] => ('reg' in o ? [o.reg] : [])
  switch (op.kind) {
    case 'alu':
      return [op.dst, ...src(op.src)]
    case 'neg':
    case 'endian':
    case 'opaque':
      return [op.dst]
    case 'load':
      return [op.dst, op.base]
    case 'store':
      return [op.base, ...src(op.src)]
    case 'atomic':
      return [op.base, ...(op.src !== undefined ? [op.src] : []), ...(op.fetchDst !== undefined ? [op.fetchDst] : [])]
    case 'ld-imm64':
      return [op.dst]
    case 'ld-abs':
      return op.indexReg !== undefined ? [op.indexReg] : []
    case 'jump':
      return op.cond ? [op.cond.dst, ...src(op.cond.src)] : []
    case 'indirect-jump':
      return [op.reg]
    default:
      return []
  }
}

function constArg(v: Val): number | null {
  if (v.k !== 'scalar') return null
  const c = constOf(v.b)
  if (c === undefined) return null
  const s = BigInt.asIntN(64, c)
  if (c <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(c)
  if (s >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(s)
  return null
}

/** The effect of one instruction. Returns the successor pcs, or 'fallthrough' for the next instruction. */
export function step(s: State, insn: XlatedInsn, rec: Recorder | undefined, markOffset: number, mergeInto: (pc: number, s: State) => void): number[] | 'fallthrough' {
  const op = insn.op
  const r = s.regs
  if (!regsOf(op).every(validReg)) {
    rec?.notes.add(`pc ${insn.pc}: register out of range in "${insn.disasm}": treated as unknown`)
    return unknownEffect(s, insn, rec)
  }
  const valOf = (o: XlatedOperand): Val => ('reg' in o ? r[o.reg]! : scalar(constBits(BigInt(o.imm))))
  switch (op.kind) {
    case 'alu': {
      const width = op.width
      const src = valOf(op.src)
      const dst = r[op.dst]!
      if (op.op === 'mov') {
        if (op.signExtendFrom !== undefined) r[op.dst] = scalar(truncate(truncate(bitsOf(src), op.signExtendFrom, true), width))
        else if (width === 64) r[op.dst] = 'imm' in op.src ? scalar(constBits(BigInt(op.src.imm))) : src
        else r[op.dst] = scalar(truncate(bitsOf(src), 32))
        return 'fallthrough'
      }
      if ((op.op === 'add' || op.op === 'sub') && width === 64 && (dst.k !== 'scalar' || (op.op === 'add' && src.k !== 'scalar'))) {
        r[op.dst] = pointerArith(dst, src, op.op)
        return 'fallthrough'
      }
      const a = bitsOf(dst)
      const b = bitsOf(src)
      switch (op.op) {
        case 'and':
          r[op.dst] = scalar(bitwise(a, b, width, andBit))
          break
        case 'or':
          r[op.dst] = scalar(bitwise(a, b, width, orBit))
          break
        case 'xor':
          r[op.dst] = scalar(bitwise(a, b, width, xorBit))
          break
        case 'lsh':
        case 'rsh':
        case 'arsh': {
          const amount = constOf(b, width)
          r[op.dst] = scalar(amount === undefined ? unknownBits(width) : shift(truncate(a, width), Number(amount & BigInt(width - 1)), width, op.op))
          break
        }
        default:
          r[op.dst] = scalar(arith(op.op, a, b, width))
      }
      return 'fallthrough'
    }
    case 'neg': {
      const c = constOf(bitsOf(r[op.dst]!), op.width)
      r[op.dst] = scalar(c === undefined ? unknownBits(op.width) : truncate(constBits(BigInt.asUintN(op.width, -c)), op.width))
      return 'fallthrough'
    }
    case 'endian': {
      const a = bitsOf(r[op.dst]!)
      r[op.dst] = scalar(op.order === 'le' ? truncate(a, op.bits) : byteSwap(a, op.bits))
      return 'fallthrough'
    }
    case 'load': {
      const base = r[op.base]!
      r[op.dst] = loadVal(s, base, op.off, op.size, op.signed, markOffset)
      if (overlaps(op.off, op.size, markOffset)) {
        if (base.k === 'ctx') rec?.loads.push({...finding(insn), reg: op.dst, bits: markBitsCovered(op.off, op.size, markOffset)})
        else if (base.k === 'top') rec?.uncertain.push({...finding(insn), access: 'load', reason: `r${op.base} may hold the ctx pointer (the analysis lost track of it)`})
      }
      return 'fallthrough'
    }
    case 'store': {
      const base = r[op.base]!
      const v = valOf(op.src)
      if (base.k === 'ctx' && overlaps(op.off, op.size, markOffset)) {
        rec?.writes.push({...finding(insn), ...markWriteOf(markAfterStore(bitsOf(v), op.off, op.size, markOffset))})
      } else if (base.k === 'top' && overlaps(op.off, op.size, markOffset)) {
        rec?.uncertain.push({...finding(insn), access: 'store', reason: `r${op.base} may hold the ctx pointer (the analysis lost track of it)`})
      }
      storeVal(s, base, op.off, op.size, v)
      return 'fallthrough'
    }
    case 'atomic': {
      const base = r[op.base]!
      const writes = op.op !== 'load_acquire'
      if (overlaps(op.off, op.size, markOffset) && (base.k === 'ctx' || base.k === 'top')) {
        if (base.k === 'ctx' && writes) {
          const after = markAfterStore(unknownBits(64), op.off, op.size, markOffset)
          rec?.writes.push({...finding(insn), ...markWriteOf(after)})
        } else rec?.uncertain.push({...finding(insn), access: writes ? 'store' : 'load', reason: base.k === 'ctx' ? 'atomic access to the ctx' : `r${op.base} may hold the ctx pointer (the analysis lost track of it)`})
      }
      if (writes) storeVal(s, base, op.off, op.size, OTHER)
      if (op.fetchDst !== undefined) r[op.fetchDst] = op.size === 8 ? OTHER : scalar(unknownBits(op.size * 8))
      if (op.op === 'cmpxchg') r[0] = op.size === 8 ? OTHER : scalar(unknownBits(op.size * 8))
      return 'fallthrough'
    }
    case 'ld-imm64': {
      if (op.mapId !== undefined) r[op.dst] = op.mapValueOffset === undefined ? {k: 'map', id: op.mapId} : OTHER
      else if (op.value !== undefined) r[op.dst] = scalar(constBits(BigInt(op.value)))
      else r[op.dst] = OTHER
      if (op.subprogOffset !== undefined) {
        // A callback (bpf_loop, timers…): the kernel calls it with arguments the analysis does not know.
        const cb: State = {regs: new Array<Val>(NREGS).fill(OTHER), stack: new Map()}
        for (let a = 1; a <= 5; a++) cb.regs[a] = TOP
        cb.regs[10] = {k: 'fp', off: 0}
        mergeInto(insn.pc + op.subprogOffset + 1, cb)
      }
      return 'fallthrough'
    }
    case 'ld-abs': {
      // Legacy packet loads are calls in disguise: r0 gets the data, r1-r5 are clobbered.
      for (let a = 1; a <= 5; a++) r[a] = OTHER
      r[0] = scalar(unknownBits(op.size * 8))
      return 'fallthrough'
    }
    case 'call': {
      const stackPassed = [1, 2, 3, 4, 5].some((a) => mayBeStack(r[a]!))
      if (op.callee === 'subprog') {
        rec?.subprogramCalls.push({...finding(insn), target: op.target})
        const callee: State = {regs: new Array<Val>(NREGS).fill(OTHER), stack: new Map()}
        for (let a = 1; a <= 5; a++) {
          const v = r[a]!
          callee.regs[a] = v.k === 'fp' ? FPX : v
        }
        callee.regs[10] = {k: 'fp', off: 0}
        mergeInto(op.target, callee)
      } else if (rec) {
        const helper = op.helper ?? op.symbol
        const h: HelperCall = {...finding(insn), helper, symbol: op.symbol, family: helperFamily(helper), args: [1, 2, 3, 4, 5].map((a) => constArg(r[a]!))}
        const mapReg = helper === 'bpf_tail_call' ? r[2]! : r[1]!
        if (mapReg.k === 'map') h.mapId = mapReg.id
        rec.helperCalls.push(h)
        if (op.helper === undefined) rec.notes.add(`pc ${insn.pc}: helper "${op.symbol}" not resolved to a name (bpftool had no kallsyms for it)`)
      }
      r[0] = OTHER
      for (let a = 1; a <= 5; a++) r[a] = OTHER
      // The callee may write through a stack pointer it was given: forget spilled scalars (spilled pointers stay:
      // the verifier would reject a later use of one it overwrote with data).
      if (stackPassed) for (const [off, slot] of s.stack) if (slot.v.k === 'scalar') s.stack.delete(off)
      return 'fallthrough'
    }
    case 'jump': {
      if (rec && op.cond) recordMatch(rec, insn, op.cond, valOf)
      if (op.conditional && !op.cond && rec) rec.notes.add(`pc ${insn.pc}: condition of "${insn.disasm}" not understood: both ways followed`)
      const np = insn.pc + 1
      return op.conditional ? [np, op.target] : [op.target]
    }
    case 'exit':
      return []
    case 'indirect-jump':
      rec?.notes.add(`pc ${insn.pc}: indirect jump "${insn.disasm}": its targets are not followed`)
      return []
    case 'nospec':
      return 'fallthrough'
    case 'opaque':
      r[op.dst] = op.guessed ? TOP : OTHER
      if (op.guessed) rec?.notes.add(`pc ${insn.pc}: "${insn.disasm}" not decoded beyond its destination r${op.dst}`)
      return 'fallthrough'
    case 'unknown':
      return unknownEffect(s, insn, rec)
  }
}

/** An instruction the analysis cannot read: forget what its class could have changed, and say so. */
function unknownEffect(s: State, insn: XlatedInsn, rec: Recorder | undefined): 'fallthrough' {
  const cls = insn.code === undefined ? -1 : insn.code & 0x07
  rec?.notes.add(`pc ${insn.pc}: "${insn.disasm}" not decoded: registers${cls === 2 || cls === 3 ? ' and stack slots' : ''} it may change are now unknown`)
  if (cls !== 2 && cls !== 3) for (let a = 0; a < 10; a++) s.regs[a] = TOP
  if (cls === -1 || cls === 2 || cls === 3) s.stack.clear()
  return 'fallthrough'
}

function pointerArith(dst: Val, src: Val, op: 'add' | 'sub'): Val {
  const c = src.k === 'scalar' ? constOf(src.b) : undefined
  // scalar + pointer: the result is the pointer's kind.
  const ptr = dst.k === 'scalar' ? src : dst
  switch (ptr.k) {
    case 'fp':
      if (dst.k === 'fp' && c !== undefined) {
        const d = Number(BigInt.asIntN(64, c))
        return {k: 'fp', off: op === 'add' ? ptr.off + d : ptr.off - d}
      }
      return FPX
    case 'fpx':
    case 'top':
      return FPX
    default:
      // ctx + n is a "modified ctx" the verifier will not let the program dereference; maps and others stay not-ctx.
      return OTHER
  }
}

function loadVal(s: State, base: Val, off: number, size: MemSize, signed: boolean, markOffset: number): Val {
  const narrow = (b: Bits): Val => scalar(truncate(b, size * 8, signed))
  switch (base.k) {
    case 'ctx': {
      if (!overlaps(off, size, markOffset)) return size === 8 ? OTHER : narrow(unknownBits(64))
      const b = new Int8Array(64).fill(UNK)
      for (let i = 0; i < size * 8; i++) {
        const k = (off - markOffset) * 8 + i
        if (k >= 0 && k < 32) b[i] = MARK + k
      }
      return narrow(b)
    }
    case 'fp': {
      const at = base.off + off
      const slot = s.stack.get(at)
      if (slot && slot.size === size) return size === 8 ? slot.v : narrow(bitsOf(slot.v))
      if (size !== 8) return narrow(unknownBits(64))
      // Nothing tracked there: a spill the joins dropped may have been the ctx pointer.
      for (const [o, sl] of s.stack) if (o < at + 8 && o + sl.size > at) return OTHER
      return TOP
    }
    case 'fpx':
    case 'top':
      return size === 8 ? TOP : narrow(unknownBits(64))
    default:
      // Maps, packets and kernel objects never hold the ctx pointer (only the stack can).
      return size === 8 ? OTHER : narrow(unknownBits(64))
  }
}

function storeVal(s: State, base: Val, off: number, size: MemSize, v: Val): void {
  if (base.k === 'fp') {
    const at = base.off + off
    for (const [o, sl] of s.stack) if (o < at + size && o + sl.size > at) s.stack.delete(o)
    s.stack.set(at, {size, v: size === 8 ? v : scalar(truncate(bitsOf(v), size * 8))})
  } else if (base.k === 'fpx' || base.k === 'top') s.stack.clear()
}

function recordMatch(rec: Recorder, insn: XlatedInsn, cond: NonNullable<Extract<XlatedOp, {kind: 'jump'}>['cond']>, valOf: (o: XlatedOperand) => Val): void {
  const m = markMatchOfJump(valOf({reg: cond.dst}), valOf(cond.src), cond.op, cond.width)
  if (m) rec.matches.push({...finding(insn), ...m})
}
