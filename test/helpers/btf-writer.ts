// A tiny raw-BTF writer for tests: type records laid out as the kernel lays out /sys/kernel/btf/vmlinux
// (include/uapi/linux/btf.h: a 24-byte header, 12-byte btf_type records each followed by its kind's words, then
// the string section), so the parser is exercised on known bytes.

/** BTF_KIND_* (include/uapi/linux/btf.h). */
export const BTF_KIND = {INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19} as const

export interface BtfTypeRecord {
  name?: string
  kind: number
  vlen?: number
  kflag?: boolean
  /** btf_type.size or .type */
  st: number
  /** u32 words after the 12-byte record; a string ('x' or {s: 'x'}) is written as its offset in the string section. */
  tail?: Array<number | string | {s: string}>
}

/** The file's bytes. Fields are masked to their widths, so a fuzzer's out-of-range values still make a file. */
export function writeBtf(types: readonly BtfTypeRecord[], opts: {bigEndian?: boolean; version?: number} = {}): Uint8Array {
  const le = !opts.bigEndian
  const strs: number[] = [0]
  const offs = new Map<string, number>([['', 0]])
  const str = (s: string): number => {
    if (!offs.has(s)) {
      offs.set(s, strs.length)
      strs.push(...new TextEncoder().encode(s), 0)
    }
    return offs.get(s)!
  }
  const words: number[] = []
  for (const t of types) {
    words.push(str(t.name ?? ''), ((t.kflag ? 1 : 0) << 31) | ((t.kind & 0x1f) << 24) | ((t.vlen ?? 0) & 0xffff), t.st >>> 0)
    for (const w of t.tail ?? []) words.push(typeof w === 'number' ? w >>> 0 : str(typeof w === 'string' ? w : w.s))
  }
  const typeLen = words.length * 4
  const buf = new Uint8Array(24 + typeLen + strs.length)
  const dv = new DataView(buf.buffer)
  dv.setUint16(0, 0xeb9f, le) // BTF_MAGIC
  dv.setUint8(2, opts.version ?? 1)
  dv.setUint32(4, 24, le) // hdr_len
  dv.setUint32(8, 0, le) // type_off
  dv.setUint32(12, typeLen, le) // type_len
  dv.setUint32(16, typeLen, le) // str_off
  dv.setUint32(20, strs.length, le) // str_len
  words.forEach((w, i) => dv.setUint32(24 + 4 * i, w >>> 0, le))
  buf.set(strs, 24 + typeLen)
  return buf
}
