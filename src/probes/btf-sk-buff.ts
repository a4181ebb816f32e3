/**
 * Member offsets of a kernel struct (here `struct sk_buff`) read from raw BTF, e.g. /sys/kernel/btf/vmlinux.
 *
 * Why: the verifier rewrites `__sk_buff.mark` (ctx+8 in the ELF) to `offsetof(struct sk_buff, mark)`, so an xlated
 * dump shows `*(u32 *)(r1 +164)` on kernel 6.18 (docs/kernel-notes.md#kn-4-xlated-mark-offset). The number changes with the kernel build, and BTF
 * is the unprivileged way to learn it. In 6.x `mark` sits inside anonymous unions/structs (`struct_group(headers, …)`),
 * so offsets are summed down through anonymous members.
 *
 * Format (kernel Documentation/bpf/btf.rst): a 24-byte header (magic 0xeb9f, version, flags, hdr_len, type_off,
 * type_len, str_off, str_len), then a type section of variable-size records (12-byte `btf_type` plus a kind-specific
 * tail), then a NUL-separated string section. Type ids start at 1 (0 is void) in record order.
 *
 * The parser is pure and linear: one pass over the type section, then a walk of the one struct. It never throws on
 * the bytes it is given; anything it cannot read becomes a ParseProblem. The I/O lives apart, at the end of the file.
 */
import {readFile} from 'node:fs/promises'
import {problem} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'

/** @internal tested directly (a test seam) */
export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux'

/** The sk_buff fields the marks and trace analyses care about. @internal tested directly (a test seam) */
export const SK_BUFF_FIELDS = ['mark', 'priority', 'tc_index', 'hash', 'protocol', 'len'] as const

export interface BtfMemberOffset {
  /** Byte offset from the start of the struct, summed over the enclosing anonymous members. */
  offsetBytes: number
  /** Width in bits: the bitfield width for a bitfield, else the member type's size × 8 (absent if not resolvable). */
  sizeBits?: number
  /** The exact bit offset, only for bitfields and members that do not start on a byte boundary. */
  bitOffset?: number
}

const BTF_MAGIC = 0xeb9f
const HEADER_MIN = 24
const TYPE_RECORD = 12

const KIND = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const

/** Bytes that follow the 12-byte btf_type for each kind; undefined for a kind this parser does not know. */
function tailSize(kind: number, vlen: number): number | undefined {
  switch (kind) {
    case KIND.INT:
      return 4 // u32 encoding: bits, offset, signedness
    case KIND.ARRAY:
      return 12 // struct btf_array {type, index_type, nelems}
    case KIND.STRUCT:
    case KIND.UNION:
      return 12 * vlen // struct btf_member {name_off, type, offset}
    case KIND.ENUM:
      return 8 * vlen // struct btf_enum {name_off, val}
    case KIND.FUNC_PROTO:
      return 8 * vlen // struct btf_param {name_off, type}
    case KIND.VAR:
      return 4 // struct btf_var {linkage}
    case KIND.DATASEC:
      return 12 * vlen // struct btf_var_secinfo {type, offset, size}
    case KIND.DECL_TAG:
      return 4 // struct btf_decl_tag {component_idx}
    case KIND.ENUM64:
      return 12 * vlen // struct btf_enum64 {name_off, val_lo32, val_hi32}
    case KIND.PTR:
    case KIND.FWD:
    case KIND.TYPEDEF:
    case KIND.VOLATILE:
    case KIND.CONST:
    case KIND.RESTRICT:
    case KIND.FUNC:
    case KIND.FLOAT:
    case KIND.TYPE_TAG:
      return 0
    default:
      return undefined
  }
}

/** Kinds that only qualify or rename another type: followed when resolving a member's type. */
const isModifier = (kind: number): boolean =>
  kind === KIND.TYPEDEF || kind === KIND.VOLATILE || kind === KIND.CONST || kind === KIND.RESTRICT || kind === KIND.TYPE_TAG

/** Anonymous struct/union nesting deeper than this is treated as malformed (sk_buff nests 3 levels in 6.x). */
const MAX_DEPTH = 32

/**
 * Offsets of `fields` inside the struct named `structName` (the first STRUCT of that name that has members).
 * A field reached through anonymous members gets the summed offset; the first occurrence in declaration order wins
 * (struct_group's named copy, e.g. `headers.mark`, is not searched: only anonymous members are entered).
 * Fields not found are absent from `facts` and reported as problems.
 * @internal tested directly (a test seam)
 */
export function parseBtfStructOffsets(buf: Uint8Array, structName: string, fields: readonly string[]): Parsed<Record<string, BtfMemberOffset>> {
  const probe = `btf struct ${structName}`
  const facts: Record<string, BtfMemberOffset> = {}
  const problems: ParseProblem[] = []
  const fail = (message: string): Parsed<Record<string, BtfMemberOffset>> => ({facts, problems: [...problems, problem(probe, message)]})

  if (buf.byteLength < HEADER_MIN) return fail(`truncated BTF: ${buf.byteLength} bytes, shorter than the ${HEADER_MIN}-byte header`)
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  // The magic tells the byte order: 0xeb9f read little-endian means a little-endian file (every x86/arm64 kernel).
  let le: boolean
  if (dv.getUint16(0, true) === BTF_MAGIC) le = true
  else if (dv.getUint16(0, false) === BTF_MAGIC) le = false
  else return fail(`not BTF: magic is 0x${dv.getUint16(0, true).toString(16)}, expected 0xeb9f`)
  const version = dv.getUint8(2)
  if (version !== 1) return fail(`unsupported BTF version ${version} (expected 1)`)
  const hdrLen = dv.getUint32(4, le)
  const typeOff = dv.getUint32(8, le)
  const typeLen = dv.getUint32(12, le)
  const strOff = dv.getUint32(16, le)
  const strLen = dv.getUint32(20, le)
  if (hdrLen < HEADER_MIN || hdrLen > buf.byteLength) return fail(`corrupt BTF header: hdr_len ${hdrLen} for a ${buf.byteLength}-byte buffer`)
  const typeStart = hdrLen + typeOff
  const typeEnd = typeStart + typeLen
  const strStart = hdrLen + strOff
  const strEnd = strStart + strLen
  if (typeEnd > buf.byteLength) return fail(`truncated BTF: the type section ends at byte ${typeEnd}, the buffer has ${buf.byteLength}`)
  if (strEnd > buf.byteLength) return fail(`truncated BTF: the string section ends at byte ${strEnd}, the buffer has ${buf.byteLength}`)

  const u32 = (pos: number): number => dv.getUint32(pos, le)

  /** Does the string at name_off equal `want` (NUL-terminated in the section)? Compares bytes, decodes nothing. */
  const nameIs = (nameOff: number, want: Uint8Array): boolean => {
    const p = strStart + nameOff
    if (nameOff >= strLen || p + want.length >= strEnd) return false
    for (let i = 0; i < want.length; i++) if (buf[p + i] !== want[i]) return false
    return buf[p + want.length] === 0
  }

  // Pass 1: where each type record starts, by id (index 0 is void). Every kind's tail is skipped exactly.
  const starts: number[] = [0]
  const wantStruct = new TextEncoder().encode(structName)
  let structId = 0
  for (let pos = typeStart; pos < typeEnd; ) {
    if (pos + TYPE_RECORD > typeEnd) return fail(`truncated BTF: type record ${starts.length} at byte ${pos} runs past the type section`)
    const info = u32(pos + 4)
    const kind = (info >>> 24) & 0x1f
    const vlen = info & 0xffff
    const tail = tailSize(kind, vlen)
    if (tail === undefined) return fail(`unknown BTF kind ${kind} in type ${starts.length} at byte ${pos}: cannot tell its size`)
    if (pos + TYPE_RECORD + tail > typeEnd) return fail(`truncated BTF: type ${starts.length} (kind ${kind}) runs past the type section`)
    if (structId === 0 && kind === KIND.STRUCT && vlen > 0 && nameIs(u32(pos), wantStruct)) structId = starts.length
    starts.push(pos)
    pos += TYPE_RECORD + tail
  }
  if (structId === 0) return fail(`no struct ${structName} with members in ${starts.length - 1} BTF types`)

  const kindOf = (id: number): number => (u32(starts[id]! + 4) >>> 24) & 0x1f
  const validId = (id: number): boolean => id > 0 && id < starts.length

  /** Follow typedef/const/volatile/restrict/type_tag to the underlying type id (0 when it ends in void or loops). */
  const resolve = (id: number): number => {
    for (let i = 0; i < MAX_DEPTH && validId(id); i++) {
      if (!isModifier(kindOf(id))) return id
      id = u32(starts[id]! + 8)
    }
    return 0
  }

  /** Size in bits of a type, or undefined (void, function, unresolvable). Pointers are 64-bit (vmlinux BTF has no pointer size). */
  const sizeBitsOf = (id: number, depth = 0): number | undefined => {
    const t = resolve(id)
    if (t === 0 || depth > MAX_DEPTH) return undefined
    const p = starts[t]!
    switch (kindOf(t)) {
      case KIND.INT:
        return u32(p + TYPE_RECORD) & 0xff // BTF_INT_BITS
      case KIND.PTR:
        return 64
      case KIND.STRUCT:
      case KIND.UNION:
      case KIND.ENUM:
      case KIND.ENUM64:
      case KIND.FLOAT:
        return u32(p + 8) * 8
      case KIND.ARRAY: {
        const elem = sizeBitsOf(u32(p + TYPE_RECORD), depth + 1)
        return elem === undefined ? undefined : elem * u32(p + TYPE_RECORD + 8)
      }
      default:
        return undefined
    }
  }

  const wanted = new Map<string, Uint8Array>()
  const enc = new TextEncoder()
  for (const f of fields) if (!wanted.has(f)) wanted.set(f, enc.encode(f))

  /** Depth-first over members in declaration order, entering only anonymous structs/unions. */
  const walk = (id: number, baseBits: number, depth: number): void => {
    if (depth > MAX_DEPTH) {
      problems.push(problem(probe, `anonymous members nest deeper than ${MAX_DEPTH} levels (type ${id}): stopped there`))
      return
    }
    const p = starts[id]!
    const info = u32(p + 4)
    const vlen = info & 0xffff
    const kflag = info >>> 31 === 1
    for (let i = 0; i < vlen && wanted.size > 0; i++) {
      const m = p + TYPE_RECORD + 12 * i
      const nameOff = u32(m)
      const type = u32(m + 4)
      const raw = u32(m + 8)
      // kind_flag set: offset packs bitfield_size << 24 | bit_offset. Otherwise it is the bit offset alone, and a
      // bitfield is described by the INT type's own encoding (offset bits 16-23, width bits 0-7).
      let bits = baseBits + (kflag ? raw & 0xffffff : raw)
      let bitfield = kflag ? raw >>> 24 : 0
      if (nameOff === 0) {
        const t = resolve(type)
        if (t !== 0 && (kindOf(t) === KIND.STRUCT || kindOf(t) === KIND.UNION)) walk(t, bits, depth + 1)
        continue
      }
      for (const [name, want] of wanted) {
        if (!nameIs(nameOff, want)) continue
        const t = resolve(type)
        if (!kflag && t !== 0 && kindOf(t) === KIND.INT) {
          const enc32 = u32(starts[t]! + TYPE_RECORD)
          const intBits = enc32 & 0xff
          const intOff = (enc32 >>> 16) & 0xff
          if (intOff !== 0 || intBits !== u32(starts[t]! + 8) * 8) {
            bits += intOff
            bitfield = intBits
          }
        }
        const out: BtfMemberOffset = {offsetBytes: Math.floor(bits / 8)}
        const size = bitfield || sizeBitsOf(type)
        if (size !== undefined) out.sizeBits = size
        if (bitfield || bits % 8 !== 0) out.bitOffset = bits
        facts[name] = out
        wanted.delete(name)
        break
      }
    }
  }

  // Member records of the struct itself must fit too (checked in pass 1), and member type ids must be valid.
  walk(structId, 0, 0)
  for (const name of wanted.keys()) problems.push(problem(probe, `struct ${structName} has no member "${name}" (searched anonymous members too)`))
  return {facts, problems}
}

/** `parseBtfStructOffsets(buf, 'sk_buff', SK_BUFF_FIELDS)`: on kernel 6.18, mark=164, priority=140 (docs/kernel-notes.md#kn-4-xlated-mark-offset). @internal tested directly (a test seam) */
export function parseSkBuffLayout(buf: Uint8Array): Parsed<Record<string, BtfMemberOffset>> {
  return parseBtfStructOffsets(buf, 'sk_buff', SK_BUFF_FIELDS)
}

// ---- I/O, kept apart from the parser above -------------------------------------------------------------------

/**
 * Read a raw BTF file (mode 0444 on the kernels we target: no privileges needed). It is binary, so it does not go
 * through a Source (which carries text); a snapshot must record the derived offsets instead.
 * Never throws: a failure comes back as one "context: cause" line.
 * @internal tested directly (a test seam)
 */
export async function readVmlinuxBtf(path: string = VMLINUX_BTF_PATH): Promise<{bytes: Uint8Array} | {error: string}> {
  try {
    return {bytes: new Uint8Array(await readFile(path))}
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    const cause = err.code === 'ENOENT' ? 'no such file (kernel built without CONFIG_DEBUG_INFO_BTF?)' : err.code ?? err.message
    return {error: `read ${path}: ${cause}`}
  }
}

/** Read and parse in one step: the sk_buff layout of the running kernel, or a problem saying why not. */
export async function readSkBuffLayout(path: string = VMLINUX_BTF_PATH): Promise<Parsed<Record<string, BtfMemberOffset>>> {
  const r = await readVmlinuxBtf(path)
  if ('error' in r) return {facts: {}, problems: [problem('btf struct sk_buff', r.error)]}
  return parseSkBuffLayout(r.bytes)
}
