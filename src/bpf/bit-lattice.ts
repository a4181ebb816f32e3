/**
 * The bit lattice of the abstract interpreter: every bit of a 64-bit scalar is one class — known 0, known 1,
 * unknown, bit k of the mark the program was entered with, or NOT bit k — and the BPF ALU operations over them.
 * Tracking mark bits one by one is what lets a store be read as `mark |= 0x4000` rather than "some value".
 * Assumes a little-endian host for `le`/`be` byte swaps (x86-64, arm64).
 */

/** Bit classes: 0, 1, unknown, bit k of the entry mark (MARK + k), NOT bit k (NOT + k). */
export const ZERO = 0
export const ONE = 1
export const UNK = 2
export const MARK = 3
export const NOT = 35
export const isMarkBit = (c: number): boolean => c >= MARK
export const markIndex = (c: number): number => (c >= NOT ? c - NOT : c - MARK)
const flip = (c: number): number => (c === ZERO ? ONE : c === ONE ? ZERO : c === UNK ? UNK : c >= NOT ? c - 32 : c + 32)
const complementary = (a: number, b: number): boolean => isMarkBit(a) && isMarkBit(b) && flip(a) === b

export type Bits = Int8Array // 64 classes, index 0 = least significant bit

const constCache = new Map<bigint, Bits>()

/** The classes of a constant. Shared and never mutated (every operation builds a new array). */
export function constBits(v: bigint): Bits {
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

/** All bits unknown below `width`, zero above (a 32-bit result is zero-extended). */
export function unknownBits(width: number): Bits {
  const b = new Int8Array(64)
  b.fill(UNK, 0, width)
  return b
}

export function constOf(b: Bits, width = 64): bigint | undefined {
  let v = 0n
  for (let i = width - 1; i >= 0; i--) {
    const c = b[i]!
    if (c !== ZERO && c !== ONE) return undefined
    v = (v << 1n) | (c === ONE ? 1n : 0n)
  }
  return v
}

export function sameBits(a: Bits, b: Bits): boolean {
  for (let i = 0; i < 64; i++) if (a[i] !== b[i]) return false
  return true
}

export function andBit(a: number, b: number): number {
  if (a === ZERO || b === ZERO) return ZERO
  if (a === ONE) return b
  if (b === ONE) return a
  if (a === b) return a
  return complementary(a, b) ? ZERO : UNK
}

export function orBit(a: number, b: number): number {
  if (a === ONE || b === ONE) return ONE
  if (a === ZERO) return b
  if (b === ZERO) return a
  if (a === b) return a
  return complementary(a, b) ? ONE : UNK
}

export function xorBit(a: number, b: number): number {
  if (a === ZERO) return b
  if (b === ZERO) return a
  if (a === ONE) return flip(b)
  if (b === ONE) return flip(a)
  if (a === b && a !== UNK) return ZERO
  return complementary(a, b) ? ONE : UNK
}

/** Apply a per-bit function on the low `width` bits; a 32-bit operation zero-extends its result. */
export function bitwise(a: Bits, b: Bits, width: number, f: (x: number, y: number) => number): Bits {
  const r = new Int8Array(64)
  for (let i = 0; i < width; i++) r[i] = f(a[i]!, b[i]!)
  return r
}

export function shift(a: Bits, n: number, width: number, kind: 'lsh' | 'rsh' | 'arsh'): Bits {
  const r = new Int8Array(64)
  const sign = a[width - 1]!
  for (let i = 0; i < width; i++) {
    if (kind === 'lsh') r[i] = i >= n ? a[i - n]! : ZERO
    else r[i] = i + n < width ? a[i + n]! : kind === 'arsh' ? sign : ZERO
  }
  return r
}

export function truncate(a: Bits, width: number, signed = false): Bits {
  const r = new Int8Array(64)
  for (let i = 0; i < 64; i++) r[i] = i < width ? a[i]! : signed ? a[width - 1]! : ZERO
  return r
}

/** Byte swap of the low `bits`, zero above (be16/be32 on a little-endian host, bswapN). */
export function byteSwap(a: Bits, bits: number): Bits {
  const r = new Int8Array(64)
  const bytes = bits / 8
  for (let i = 0; i < bits; i++) r[i] = a[(bytes - 1 - Math.floor(i / 8)) * 8 + (i % 8)]!
  return r
}

export function arith(op: 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod', a: Bits, b: Bits, width: number): Bits {
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
