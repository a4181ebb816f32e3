// Raw BTF for the BTF parser's fuzzer: a list of type records (a real sk_buff layout among random ones) written
// as the kernel lays out /sys/kernel/btf/vmlinux (include/uapi/linux/btf.h), then byte mutations of the result.
import fc from 'fast-check'
import {BTF_KIND, writeBtf as writeBtfFile} from '../helpers/btf-writer.js'

export interface BtfTypeRec {
  name: string
  kind: number
  vlen: number
  kflag: boolean
  /** btf_type.size or .type */
  st: number
  /** u32 words after the 12-byte record; a string is written as its offset in the string section. */
  tail: Array<number | string>
}

const K = BTF_KIND

/** Words of tail each kind carries (btf.h), so most generated files get past the record walk. */
function tailWords(kind: number, vlen: number): number {
  switch (kind) {
    case K.INT:
    case K.VAR:
    case K.DECL_TAG:
      return 1
    case K.ARRAY:
      return 3
    case K.STRUCT:
    case K.UNION:
    case K.DATASEC:
    case K.ENUM64:
      return 3 * vlen
    case K.ENUM:
    case K.FUNC_PROTO:
      return 2 * vlen
    default:
      return 0
  }
}

/** The file's bytes (test/helpers/btf-writer.ts). */
export function writeBtf(types: readonly BtfTypeRec[], bigEndian = false): Uint8Array {
  return writeBtfFile(types, {bigEndian})
}

/** sk_buff as 6.x nests it: u32 (1), a typedef (2), an anonymous union (3) of an anonymous struct (4), then sk_buff (5). */
export const SK_BUFF_TYPES: BtfTypeRec[] = [
  {name: 'unsigned int', kind: K.INT, vlen: 0, kflag: false, st: 4, tail: [32]},
  {name: '__u32', kind: K.TYPEDEF, vlen: 0, kflag: false, st: 1, tail: []},
  {name: '', kind: K.UNION, vlen: 1, kflag: false, st: 8, tail: ['', 4, 0]},
  {name: '', kind: K.STRUCT, vlen: 2, kflag: false, st: 8, tail: ['mark', 2, 0, 'priority', 1, 32]},
  {name: 'sk_buff', kind: K.STRUCT, vlen: 5, kflag: true, st: 232, tail: ['len', 1, 896, '', 3, 1024, 'hash', 1, 1184, 'tc_index', 1, (16 << 24) | 1056, 'protocol', 2, 1408]},
]

const NAMES = ['', 'sk_buff', 'mark', 'priority', 'tc_index', 'hash', 'protocol', 'len', 'x', 'headers']
const word = fc.oneof(
  {arbitrary: fc.integer({min: 0, max: 12}), weight: 6},
  {arbitrary: fc.constantFrom(...NAMES), weight: 3},
  {arbitrary: fc.constantFrom(0xffffffff, 0x7fffffff, 0x80000000, 0xffffff, 1 << 24, 65535, 32, 64), weight: 1},
)
const typeRec: fc.Arbitrary<BtfTypeRec> = fc
  .record({
    name: fc.constantFrom(...NAMES),
    kind: fc.oneof({arbitrary: fc.integer({min: 1, max: 19}), weight: 9}, {arbitrary: fc.integer({min: 0, max: 31}), weight: 1}),
    vlen: fc.oneof({arbitrary: fc.integer({min: 0, max: 4}), weight: 9}, {arbitrary: fc.constantFrom(0xffff, 1000), weight: 1}),
    kflag: fc.boolean(),
    st: word,
    words: fc.array(word, {maxLength: 16}),
    exact: fc.boolean(),
  })
  .map(({words, exact, ...t}) => {
    const n = tailWords(t.kind, t.vlen)
    // Mostly the exact tail (the record walk then reaches the member walk), sometimes whatever was drawn.
    const tail = exact && n <= 64 ? Array.from({length: n}, (_, i) => words[i % Math.max(words.length, 1)] ?? 0) : words
    return {...t, st: typeof t.st === 'number' ? t.st : 0, tail}
  })

export type BytesOp = {k: 'flip'; at: number; bit: number} | {k: 'cut'; at: number} | {k: 'u32'; at: number; v: number}

export interface BtfCase {
  /** The real-shaped sk_buff first, then random records (ids follow on), or random records alone. */
  withSkBuff: boolean
  types: BtfTypeRec[]
  bigEndian: boolean
  ops: BytesOp[]
}

export const btfCases: fc.Arbitrary<BtfCase> = fc.record({
  withSkBuff: fc.boolean(),
  types: fc.array(typeRec, {maxLength: 12}),
  bigEndian: fc.boolean(),
  ops: fc.array(
    fc.oneof(
      fc.record({k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({min: 0, max: 7})}),
      fc.record({k: fc.constant('cut' as const), at: fc.nat()}),
      fc.record({k: fc.constant('u32' as const), at: fc.nat(), v: fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 24, 12), fc.nat())}),
    ),
    {maxLength: 4},
  ),
})

export function btfOf(c: BtfCase): Uint8Array {
  let b = writeBtf(c.withSkBuff ? [...SK_BUFF_TYPES, ...c.types] : c.types, c.bigEndian)
  for (const op of c.ops) {
    if (b.length === 0) break
    if (op.k === 'cut') b = b.slice(0, op.at % (b.length + 1))
    else if (op.k === 'flip') b[op.at % b.length]! ^= 1 << op.bit
    else {
      const at = (op.at % Math.max(1, b.length >> 2)) * 4
      if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, op.v >>> 0, !c.bigEndian)
    }
  }
  return b
}
