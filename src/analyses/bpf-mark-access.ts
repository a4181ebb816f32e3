/**
 * What an eBPF program does with skb->mark, read from its xlated instructions: every store to the mark (as a
 * mark operation), every load, every comparison of mark bits with a constant, plus the helpers it calls and the
 * maps it references. Pure: instructions in, findings out.
 *
 * How: a forward abstract interpretation over the instructions (branches joined, loops iterated to a fixpoint).
 * Each register holds the ctx pointer, a pointer into the stack, a map pointer, another pointer/unknown value,
 * or a 64-bit scalar whose every bit is known to be 0, 1, bit k of the original mark, NOT bit k, or unknown.
 * The verifier rewrote `__sk_buff.mark` into `*(u32 *)(ctx +offsetof(struct sk_buff, mark))` (docs/kernel-notes.md#kn-4-xlated-mark-offset), so a
 * store is a mark write only when its base register holds the ctx pointer: r1 at entry and every copy of it
 * (`r6 = r1`, spilled to the stack and filled back), never a map-value or stack pointer at the same offset.
 * Helper calls clobber r1-r5 and r0 and keep r6-r9 (the BPF calling convention).
 *
 * Everything here is inferred from instructions (`evidence: 'program'`): where the interpretation loses track it
 * says so (op 'unknown', unknownBits, `uncertain`, `notes`) instead of guessing. It assumes a little-endian host
 * for `le`/`be` byte swaps (x86-64, arm64) and a ctx of type `struct __sk_buff` (tc, cgroup_skb, socket filters…);
 * for other program types `markOffset` means nothing.
 */
import type {JumpOp, MemSize, XlatedInsn, XlatedOp, XlatedOperand} from '../model/xlated.js'

// ---- report ------------------------------------------------------------------------------------------------------

export interface ProgramFinding {
  /** Instruction slot (as bpftool numbers it). */
  pc: number
  /** The instruction, verbatim. */
  disasm: string
  /** The C source line from BTF line info, when the program has it. */
  src?: string
  evidence: 'program'
}

export interface MarkLoad extends ProgramFinding {
  /** Destination register. */
  reg: number
  /** The mark bits the load reads: 0xffffffff for `*(u32 *)(ctx +markOffset)`. */
  bits: number
}

/**
 * The mark after the store, as one of the netfilter-style operations (u32 values):
 * - `set`:        mark = value                       (mask 0xffffffff)
 * - `or`:         mark |= value                      (mask = value)
 * - `and`:        mark &= value                      (mask = ~value, the bits cleared)
 * - `xor`:        mark ^= value                      (mask = value)
 * - `set-masked`: mark = (mark & ~mask) | value      (value ⊆ mask; iptables `--set-mark V/M`, model/mark.ts `set-mark`)
 * - `set-xmark`:  mark = (mark & ~mask) ^ value      (iptables `--set-xmark V/M`; only when bits are both set and flipped)
 * - `unknown`:    the stored value depends on something other than constants and the mark's own bits. `mask` holds
 *                 the bits that may change; of those, the ones outside `unknownBits` become the bits of `value`.
 * In every case `mask` is the set of bits the write may change (0 for a store of the unchanged mark).
 */
export type MarkWriteOp = 'set' | 'or' | 'and' | 'xor' | 'set-masked' | 'set-xmark' | 'unknown'

export interface MarkWrite extends ProgramFinding {
  op: MarkWriteOp
  value: number
  mask: number
  /** Bits whose new value the analysis cannot tell (0 unless op is 'unknown'). */
  unknownBits: number
  /** For people: `mark = 0x1234`, `mark |= 0x4000`, `mark = (mark & ~0xff00) | 0x1200`. */
  expr: string
}

/**
 * A conditional jump that tests mark bits:
 * - `match`:   taken when ((mark & mask) === value) !== negated  (`if r2 != 0x200` after `r2 &= 0xf00`: 0x200/0xf00, negated)
 * - `any-set`: taken when ((mark & mask) !== 0) !== negated     (`if r2 & 0x4100 goto`)
 * - `ordered`: an ordered compare (`>`, `s<=`…) of a value made of the mark bits in `mask` with `value`
 * - `unknown`: the compared value mixes mark bits with bits the analysis does not know, or is compared with a non-constant
 */
export interface MarkMatch extends ProgramFinding {
  kind: 'match' | 'any-set' | 'ordered' | 'unknown'
  value: number
  mask: number
  negated: boolean
  /** The jump's operator as printed, with the mark on the left. */
  op: JumpOp
  width: 32 | 64
  /** False when no mark can make the test true (the program forced some compared bits to other constants). */
  satisfiable: boolean
}

export type HelperFamily = 'redirect' | 'tail-call' | 'tunnel' | 'fib' | 'map' | 'socket' | 'packet' | 'other'

export interface HelperCall extends ProgramFinding {
  /** The helper's UAPI name (`bpf_redirect_map` for dev_map_redirect…), or the printed symbol when unknown. */
  helper: string
  /** As bpftool printed it (a kallsyms name, or 0x… when it could not resolve it). */
  symbol: string
  family: HelperFamily
  /** r1-r5 at the call when they hold a known constant, else null: bpf_redirect(ifindex, flags), bpf_tail_call(ctx, map, index). */
  args: Array<number | null>
  /** The map argument when it came from `map[id:N]`: r2 for bpf_tail_call, else r1. */
  mapId?: number
}

export interface SubprogramCall extends ProgramFinding {
  target: number
}

/** A load or store at the mark's offset through a register that may or may not hold ctx (the analysis lost track). */
export interface UncertainMarkAccess extends ProgramFinding {
  access: 'load' | 'store'
  reason: string
}

export interface MarkAccessReport {
  markOffset: number
  loads: MarkLoad[]
  writes: MarkWrite[]
  matches: MarkMatch[]
  helperCalls: HelperCall[]
  /** Sorted, unique helper names. */
  helpers: string[]
  /** Sorted, unique families of the helpers called. */
  families: HelperFamily[]
  subprogramCalls: SubprogramCall[]
  /** Map ids referenced by `map[id:N]` loads, sorted, unique. */
  mapIds: number[]
  uncertain: UncertainMarkAccess[]
  /** Where the analysis lost precision: undecoded instructions, unreachable code, indirect jumps. */
  notes: string[]
}

const FAMILY: ReadonlyArray<[HelperFamily, RegExp]> = [
  ['redirect', /^bpf_(redirect|redirect_peer|redirect_neigh|clone_redirect|redirect_map|sk_redirect_map|sk_redirect_hash|msg_redirect_map|msg_redirect_hash)$/],
  ['tail-call', /^bpf_tail_call$/],
  ['tunnel', /^bpf_skb_(set|get)_tunnel_(key|opt)$/],
  ['fib', /^bpf_fib_lookup$/],
  ['map', /^bpf_(map_\w+|for_each_map_elem|ringbuf_\w+)$/],
  ['socket', /^bpf_(sk_assign|sk_lookup_tcp|sk_lookup_udp|skc_lookup_tcp|sk_release|sk_fullsock|tcp_sock|get_listener_sock|get_socket_cookie|skc_to_\w+)$/],
  ['packet', /^bpf_(skb_store_bytes|l3_csum_replace|l4_csum_replace|skb_adjust_room|skb_change_head|skb_change_tail|skb_change_proto|skb_change_type|skb_vlan_push|skb_vlan_pop|skb_pull_data|xdp_adjust_head|xdp_adjust_tail|lwt_push_encap)$/],
]

export function helperFamily(helper: string): HelperFamily {
  for (const [family, re] of FAMILY) if (re.test(helper)) return family
  return 'other'
}

// ---- abstract values ---------------------------------------------------------------------------------------------

/** Bit classes: 0, 1, unknown, bit k of the entry mark (MARK + k), NOT bit k (NOT + k). */
const ZERO = 0
const ONE = 1
const UNK = 2
const MARK = 3
const NOT = 35
const isMarkBit = (c: number): boolean => c >= MARK
const markIndex = (c: number): number => (c >= NOT ? c - NOT : c - MARK)
const flip = (c: number): number => (c === ZERO ? ONE : c === ONE ? ZERO : c === UNK ? UNK : c >= NOT ? c - 32 : c + 32)
const complementary = (a: number, b: number): boolean => isMarkBit(a) && isMarkBit(b) && flip(a) === b

type Bits = Int8Array // 64 classes, index 0 = least significant bit

type Val =
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

const CTX: Val = {k: 'ctx'}
const FPX: Val = {k: 'fpx'}
const OTHER: Val = {k: 'other'}
const TOP: Val = {k: 'top'}

const NREGS = 12 // r0-r10 and r11 (AX, used by verifier rewrites)

interface Slot {
  size: MemSize
  v: Val
}

interface State {
  regs: Val[]
  /** Spill slots of this frame by offset from r10. */
  stack: Map<number, Slot>
}

const constCache = new Map<bigint, Bits>()

/** The classes of a constant. Shared and never mutated (every operation builds a new array). */
function constBits(v: bigint): Bits {
  const u = BigInt.asUintN(64, v)
  let b = constCache.get(u)
  if (b) return b
  b = new Int8Array(64)
  const lo = Number(u & 0xffffffffn)
  const hi = Number(u >> 32n)
  for (let i = 0; i < 32; i++) {
    b[i] = (lo >>> i) & 1 ? ONE : ZERO
    b[i + 32] = (hi >>> i) & 1 ? ONE : ZERO
  }
  if (constCache.size > 4096) constCache.clear()
  constCache.set(u, b)
  return b
}

const scalar = (b: Bits): Val => ({k: 'scalar', b})

/** All bits unknown below `width`, zero above (a 32-bit result is zero-extended). */
function unknownBits(width: number): Bits {
  const b = new Int8Array(64)
  b.fill(UNK, 0, width)
  return b
}

/** The bits of a value for arithmetic: a non-scalar (pointer or unknown) is an unknown scalar. */
const bitsOf = (v: Val): Bits => (v.k === 'scalar' ? v.b : unknownBits(64))

function constOf(b: Bits, width = 64): bigint | undefined {
  let v = 0n
  for (let i = width - 1; i >= 0; i--) {
    const c = b[i]!
    if (c !== ZERO && c !== ONE) return undefined
    v = (v << 1n) | (c === ONE ? 1n : 0n)
  }
  return v
}

function sameBits(a: Bits, b: Bits): boolean {
  for (let i = 0; i < 64; i++) if (a[i] !== b[i]) return false
  return true
}

function valEq(a: Val, b: Val): boolean {
  if (a === b) return true
  if (a.k !== b.k) return false
  if (a.k === 'scalar') return sameBits(a.b, (b as {b: Bits}).b)
  if (a.k === 'fp') return a.off === (b as {off: number}).off
  if (a.k === 'map') return a.id === (b as {id: number}).id
  return true
}

const mayBeStack = (v: Val): boolean => v.k === 'fp' || v.k === 'fpx' || v.k === 'top'

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

function cloneState(s: State): State {
  return {regs: s.regs.slice(), stack: new Map(s.stack)}
}

function joinState(a: State, b: State): State {
  const regs = a.regs.map((v, i) => joinVal(v, b.regs[i]!))
  const stack = new Map<number, Slot>()
  for (const [off, sa] of a.stack) {
    const sb = b.stack.get(off)
    if (sb && sb.size === sa.size) stack.set(off, {size: sa.size, v: joinVal(sa.v, sb.v)})
  }
  return {regs, stack}
}

function stateEq(a: State, b: State): boolean {
  for (let i = 0; i < NREGS; i++) if (!valEq(a.regs[i]!, b.regs[i]!)) return false
  if (a.stack.size !== b.stack.size) return false
  for (const [off, sa] of a.stack) {
    const sb = b.stack.get(off)
    if (!sb || sb.size !== sa.size || !valEq(sa.v, sb.v)) return false
  }
  return true
}

// ---- bit-level operations ----------------------------------------------------------------------------------------

function andBit(a: number, b: number): number {
  if (a === ZERO || b === ZERO) return ZERO
  if (a === ONE) return b
  if (b === ONE) return a
  if (a === b) return a
  return complementary(a, b) ? ZERO : UNK
}

function orBit(a: number, b: number): number {
  if (a === ONE || b === ONE) return ONE
  if (a === ZERO) return b
  if (b === ZERO) return a
  if (a === b) return a
  return complementary(a, b) ? ONE : UNK
}

function xorBit(a: number, b: number): number {
  if (a === ZERO) return b
  if (b === ZERO) return a
  if (a === ONE) return flip(b)
  if (b === ONE) return flip(a)
  if (a === b && a !== UNK) return ZERO
  return complementary(a, b) ? ONE : UNK
}

/** Apply a per-bit function on the low `width` bits; a 32-bit operation zero-extends its result. */
function bitwise(a: Bits, b: Bits, width: number, f: (x: number, y: number) => number): Bits {
  const r = new Int8Array(64)
  for (let i = 0; i < width; i++) r[i] = f(a[i]!, b[i]!)
  return r
}

function shift(a: Bits, n: number, width: number, kind: 'lsh' | 'rsh' | 'arsh'): Bits {
  const r = new Int8Array(64)
  const sign = a[width - 1]!
  for (let i = 0; i < width; i++) {
    if (kind === 'lsh') r[i] = i >= n ? a[i - n]! : ZERO
    else r[i] = i + n < width ? a[i + n]! : kind === 'arsh' ? sign : ZERO
  }
  return r
}

function truncate(a: Bits, width: number, signed = false): Bits {
  const r = new Int8Array(64)
  for (let i = 0; i < 64; i++) r[i] = i < width ? a[i]! : signed ? a[width - 1]! : ZERO
  return r
}

/** Byte swap of the low `bits`, zero above (be16/be32 on a little-endian host, bswapN). */
function byteSwap(a: Bits, bits: number): Bits {
  const r = new Int8Array(64)
  const bytes = bits / 8
  for (let i = 0; i < bits; i++) r[i] = a[(bytes - 1 - Math.floor(i / 8)) * 8 + (i % 8)]!
  return r
}

function arith(op: 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod', a: Bits, b: Bits, width: number): Bits {
  const x = constOf(a, width)
  const y = constOf(b, width)
  if (x !== undefined && y !== undefined) {
    const sx = BigInt.asIntN(width, x)
    const sy = BigInt.asIntN(width, y)
    let r: bigint
    switch (op) {
      case 'add':
        r = x + y
        break
      case 'sub':
        r = x - y
        break
      case 'mul':
        r = x * y
        break
      // BPF defines division by zero as 0 and modulo by zero as the dividend.
      case 'div':
        r = y === 0n ? 0n : x / y
        break
      case 'sdiv':
        r = sy === 0n ? 0n : sx / sy
        break
      case 'mod':
        r = y === 0n ? x : x % y
        break
      case 'smod':
        r = sy === 0n ? sx : sx % sy
        break
    }
    return truncate(constBits(BigInt.asUintN(width, r)), width)
  }
  if ((op === 'add' || op === 'sub') && y === 0n) return truncate(a, width)
  if (op === 'add' && x === 0n) return truncate(b, width)
  if (op === 'mul' && y === 1n) return truncate(a, width)
  // No bit set in both operands: no carries, so addition is OR (e.g. `(mark & 0xffff0000) + 0x1200`).
  if (op === 'add') {
    let disjoint = true
    for (let i = 0; i < width && disjoint; i++) if (a[i] !== ZERO && b[i] !== ZERO) disjoint = false
    if (disjoint) return bitwise(a, b, width, orBit)
  }
  return unknownBits(width)
}

// ---- the mark write and match as u32 operations ------------------------------------------------------------------

const FULL = 0xffffffff
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`

/** Translate the 32 classes of the mark after a store into an operation. */
function markWriteOf(after: Bits): Pick<MarkWrite, 'op' | 'value' | 'mask' | 'unknownBits' | 'expr'> {
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

// ---- the interpretation ------------------------------------------------------------------------------------------

interface Recorder {
  loads: MarkLoad[]
  writes: MarkWrite[]
  matches: MarkMatch[]
  helperCalls: HelperCall[]
  subprogramCalls: SubprogramCall[]
  uncertain: UncertainMarkAccess[]
  notes: Set<string>
}

const finding = (insn: XlatedInsn): ProgramFinding => {
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

export interface MarkAccessOptions {
  /** offsetof(struct sk_buff, mark) on the kernel the program runs on (164 on 6.18): from the BTF parser. */
  markOffset: number
  /** Give up after this many block visits (default 200 × instructions); the report then says it is incomplete. */
  maxSteps?: number
}

export function analyseMarkAccess(insns: readonly XlatedInsn[], opts: MarkAccessOptions): MarkAccessReport {
  const markOffset = opts.markOffset
  const n = insns.length
  const rec: Recorder = {loads: [], writes: [], matches: [], helperCalls: [], subprogramCalls: [], uncertain: [], notes: new Set()}
  const mapIds = new Set<number>()
  for (const i of insns) if (i.op.kind === 'ld-imm64' && i.op.mapId !== undefined) mapIds.add(i.op.mapId)
  const report = (): MarkAccessReport => {
    const byPc = <T extends {pc: number}>(a: T[]): T[] => a.sort((x, y) => x.pc - y.pc)
    const helpers = [...new Set(rec.helperCalls.map((h) => h.helper))].sort()
    const families = [...new Set(rec.helperCalls.map((h) => h.family))].sort()
    return {
      markOffset,
      loads: byPc(rec.loads),
      writes: byPc(rec.writes),
      matches: byPc(rec.matches),
      helperCalls: byPc(rec.helperCalls),
      helpers,
      families,
      subprogramCalls: byPc(rec.subprogramCalls),
      mapIds: [...mapIds].sort((a, b) => a - b),
      uncertain: byPc(rec.uncertain),
      notes: [...rec.notes],
    }
  }
  if (n === 0) return report()

  const indexOfPc = new Map<number, number>()
  insns.forEach((insn, i) => indexOfPc.set(insn.pc, i))
  const nextPc = (i: number): number => insns[i]!.pc + (insns[i]!.op.kind === 'ld-imm64' ? 2 : 1)

  // Block leaders: the entry, jump targets, what follows a jump or exit, and function entries.
  const leader = new Array<boolean>(n).fill(false)
  const functionEntry = new Set<number>()
  leader[0] = true
  const markPc = (pc: number, from: XlatedInsn): void => {
    const j = indexOfPc.get(pc)
    if (j === undefined) rec.notes.add(`pc ${from.pc} (${from.disasm}) goes to pc ${pc}, which is not an instruction of the dump: not followed`)
    else leader[j] = true
  }
  insns.forEach((insn, i) => {
    const op = insn.op
    if (op.kind === 'jump') {
      markPc(op.target, insn)
      if (i + 1 < n) leader[i + 1] = true
    } else if (op.kind === 'exit' || op.kind === 'indirect-jump') {
      if (i + 1 < n) leader[i + 1] = true
    } else if (op.kind === 'call' && op.callee === 'subprog') {
      markPc(op.target, insn)
      functionEntry.add(op.target)
    } else if (op.kind === 'ld-imm64' && op.subprogOffset !== undefined) {
      markPc(insn.pc + op.subprogOffset + 1, insn)
      functionEntry.add(insn.pc + op.subprogOffset + 1)
    }
  })

  const entry = new Array<State | undefined>(n).fill(undefined)
  // Worklist in pc order: forward edges are handled in the same sweep, only back edges (loops) need another.
  const queued = new Array<boolean>(n).fill(false)
  let lowest = n
  const mergeInto = (pc: number, s: State): void => {
    const j = indexOfPc.get(pc)
    if (j === undefined) return
    const cur = entry[j]
    let next: State
    if (!cur) next = cloneState(s)
    else {
      next = joinState(cur, s)
      if (stateEq(next, cur)) return
    }
    entry[j] = next
    queued[j] = true
    if (j < lowest) lowest = j
  }

  const start: State = {regs: new Array<Val>(NREGS).fill(OTHER), stack: new Map()}
  start.regs[1] = CTX
  start.regs[10] = {k: 'fp', off: 0}
  mergeInto(insns[0]!.pc, start)

  /** Run one block from its entry state; with `record`, collect findings. Returns nothing: successors get merged. */
  const runBlock = (first: number, record: boolean): void => {
    const s = cloneState(entry[first]!)
    for (let i = first; i < n; i++) {
      const insn = insns[i]!
      const succ = step(s, insn, record ? rec : undefined, markOffset, mergeInto)
      if (succ === 'fallthrough') {
        const np = nextPc(i)
        const j = indexOfPc.get(np)
        if (j === undefined) {
          if (i === n - 1 || np > insns[n - 1]!.pc) rec.notes.add(`the last instruction (pc ${insn.pc}) is not an exit or jump: the dump may be cut short`)
          return
        }
        if (j !== i + 1) {
          rec.notes.add(`pc ${np} is missing from the dump (after pc ${insn.pc})`)
          return
        }
        if (leader[j]) {
          mergeInto(np, s)
          return
        }
        continue
      }
      for (const pc of succ) mergeInto(pc, s)
      return
    }
  }

  const maxSteps = opts.maxSteps ?? 200 * n + 1000
  let steps = 0
  sweep: while (lowest < n) {
    const from = lowest
    lowest = n
    for (let j = from; j < n; j++) {
      if (!queued[j]) continue
      queued[j] = false
      if (++steps > maxSteps) {
        rec.notes.add(`gave up after ${maxSteps} block visits without a fixpoint: findings may be missing`)
        break sweep
      }
      runBlock(j, false)
    }
  }

  // Final pass over the fixpoint: each reached block once, recording what it does.
  for (let j = 0; j < n; j++) if (leader[j] && entry[j]) runBlock(j, true)

  // Unreached code: count it, and keep any access at the mark's offset as uncertain rather than drop it.
  let unreached = 0
  let reached = false
  for (let j = 0; j < n; j++) {
    if (leader[j]) reached = entry[j] !== undefined
    if (reached) continue
    unreached++
    const op = insns[j]!.op
    if ((op.kind === 'load' || op.kind === 'store') && overlaps(op.off, op.size, markOffset)) {
      rec.uncertain.push({...finding(insns[j]!), access: op.kind, reason: 'not reached by the analysis (dead code or a function nothing calls)'})
    }
  }
  if (unreached > 0) rec.notes.add(`${unreached} instruction(s) not reached from the entry: not analysed`)
  return report()
}

const overlaps = (off: number, size: number, markOffset: number): boolean => off < markOffset + 4 && off + size > markOffset

/** The effect of one instruction. Returns the successor pcs, or 'fallthrough' for the next instruction. */
function step(s: State, insn: XlatedInsn, rec: Recorder | undefined, markOffset: number, mergeInto: (pc: number, s: State) => void): number[] | 'fallthrough' {
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

function markBitsCovered(off: number, size: number, markOffset: number): number {
  let m = 0
  for (let byte = off; byte < off + size; byte++) {
    const k = byte - markOffset
    if (k >= 0 && k < 4) m |= 0xff << (8 * k)
  }
  return m >>> 0
}

/** The mark's 32 classes after storing `v` (low `size` bytes) at ctx+off; bytes not covered keep their bits. */
function markAfterStore(v: Bits, off: number, size: number, markOffset: number): Bits {
  const after = new Int8Array(64)
  for (let k = 0; k < 32; k++) {
    const bit = (markOffset - off) * 8 + k
    after[k] = bit >= 0 && bit < size * 8 ? v[bit]! : MARK + k
  }
  return after
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
  const width = cond.width
  let left = valOf({reg: cond.dst})
  let right = valOf(cond.src)
  let op = cond.op
  const isMarky = (v: Val): boolean => v.k === 'scalar' && hasMarkBits(v.b, width)
  if (!isMarky(left) && isMarky(right)) {
    ;[left, right] = [right, left]
    op = MIRROR[op]
  }
  if (!isMarky(left) || left.k !== 'scalar') return
  // A jump immediate is sign-extended to 64 bits (JMP) or taken as 32 bits (JMP32); a register is used as is.
  const c = right.k === 'scalar' ? constOf(right.b, width) : undefined
  if (c === undefined) {
    rec.matches.push({...finding(insn), kind: 'unknown', value: 0, mask: markSources(left.b, width), negated: op === '!=', op, width, satisfiable: true})
    return
  }
  const m = markMatchOf(op, left.b, c, width)
  if (m) rec.matches.push({...finding(insn), ...m})
}
