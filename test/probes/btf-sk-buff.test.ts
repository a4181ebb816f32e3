import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {parseBtfStructOffsets, parseSkBuffLayout, readSkBuffLayout, readVmlinuxBtf, VMLINUX_BTF_PATH} from '../../src/probes/btf-sk-buff.js'
import {runCommand} from '../../src/source/run-command.js'
import {BTF_KIND, type BtfTypeRecord, writeBtf} from '../helpers/btf-writer.js'


const K = BTF_KIND
const member = (name: string, type: number, offset: number) => [{s: name}, type, offset]

/**
 * ids: 1 u32, 2 u16, 3 ENUM64, 4 DECL_TAG, 5 TYPE_TAG→1, 6 typedef __u32→5, 7 FWD sk_buff, 8 anon struct {mark @32},
 * 9 anon union {struct 8 @0; struct 8 headers @0}, 10 FUNC_PROTO, 11 DATASEC, 12 VAR, 13 FLOAT, 14 ENUM, 15 ARRAY u32[4],
 * 16 const→15, 17 volatile→2, 18 restrict→2, 19 FUNC, 20 PTR→7, 21 sk_buff (kflag: bitfields packed in the offset).
 */
function sampleTypes(): BtfTypeRecord[] {
  return [
    {name: 'unsigned int', kind: K.INT, st: 4, tail: [32]},
    {name: 'short unsigned int', kind: K.INT, st: 2, tail: [16]},
    {name: 'big', kind: K.ENUM64, vlen: 2, st: 8, tail: [{s: 'A'}, 1, 0, {s: 'B'}, 0, 1]},
    {name: 'tag', kind: K.DECL_TAG, st: 8, tail: [0xffffffff]},
    {name: 'user', kind: K.TYPE_TAG, st: 1},
    {name: '__u32', kind: K.TYPEDEF, st: 5},
    {name: 'sk_buff', kind: K.FWD, st: 0},
    {kind: K.STRUCT, vlen: 2, st: 8, tail: [...member('pad', 1, 0), ...member('mark', 6, 32)]},
    {kind: K.UNION, vlen: 2, st: 8, tail: [0, 8, 0, ...member('headers', 8, 0)]},
    {kind: K.FUNC_PROTO, vlen: 2, st: 1, tail: [{s: 'a'}, 1, {s: 'b'}, 2]},
    {name: '.data', kind: K.DATASEC, vlen: 1, st: 16, tail: [12, 0, 4]},
    {name: 'v', kind: K.VAR, st: 1, tail: [1]},
    {name: 'double', kind: K.FLOAT, st: 8},
    {name: 'e', kind: K.ENUM, vlen: 3, st: 4, tail: [{s: 'X'}, 0, {s: 'Y'}, 1, {s: 'Z'}, 2]},
    {kind: K.ARRAY, st: 0, tail: [1, 1, 4]},
    {kind: K.CONST, st: 15},
    {kind: K.VOLATILE, st: 2},
    {kind: K.RESTRICT, st: 2},
    {name: 'f', kind: K.FUNC, st: 10},
    {kind: K.PTR, st: 7},
    {
      name: 'sk_buff',
      kind: K.STRUCT,
      kflag: true,
      vlen: 6,
      st: 48,
      tail: [
        ...member('next', 20, 0),
        ...member('cb', 16, 64), // const u32[4] → 128 bits
        ...member('pkt_type', 1, (3 << 24) | 195), // 3-bit bitfield at bit 195
        ...member('tc_index', 17, 208),
        0, 9, 256, // anonymous union at byte 32 → mark at byte 36
        ...member('len', 18, 320),
      ],
    },
  ]
}

describe('parseBtfStructOffsets on constructed BTF', () => {
  it('sums offsets through anonymous unions/structs, skips every kind by its record size, decodes kflag bitfields', () => {
    const r = parseBtfStructOffsets(writeBtf(sampleTypes()), 'sk_buff', ['mark', 'pkt_type', 'cb', 'tc_index', 'len', 'next', 'headers'])
    // `mark` is found in the anonymous struct before `headers.mark`, which is not entered (a named member)
    expect(r).toEqual({
      facts: {
        next: {offsetBytes: 0, sizeBits: 64},
        cb: {offsetBytes: 8, sizeBits: 128},
        pkt_type: {offsetBytes: 24, sizeBits: 3, bitOffset: 195},
        tc_index: {offsetBytes: 26, sizeBits: 16},
        mark: {offsetBytes: 36, sizeBits: 32},
        len: {offsetBytes: 40, sizeBits: 16},
        // a named member of an anonymous union is a member of sk_buff too (skb->headers in 6.x)
        headers: {offsetBytes: 32, sizeBits: 64},
      },
      problems: [],
    })
  })

  it('reads a big-endian file the same way', () => {
    expect(parseBtfStructOffsets(writeBtf(sampleTypes(), {bigEndian: true}), 'sk_buff', ['mark']).facts).toEqual({mark: {offsetBytes: 36, sizeBits: 32}})
  })

  it('decodes a bitfield given by the INT encoding when kind_flag is off', () => {
    const types: BtfTypeRecord[] = [
      {name: 'unsigned int', kind: K.INT, st: 4, tail: [32]},
      {name: 'u8:2', kind: K.INT, st: 1, tail: [(3 << 16) | 2]}, // 2 bits at int offset 3
      {name: 's', kind: K.STRUCT, vlen: 2, st: 8, tail: [...member('a', 1, 0), ...member('flags', 2, 32)]},
    ]
    expect(parseBtfStructOffsets(writeBtf(types), 's', ['a', 'flags']).facts).toEqual({a: {offsetBytes: 0, sizeBits: 32}, flags: {offsetBytes: 4, sizeBits: 2, bitOffset: 35}})
  })
})

describe('parseBtfStructOffsets on bad input: a problem, never a throw', () => {
  const good = writeBtf(sampleTypes())
  const withHeader = (f: (dv: DataView) => void): Uint8Array => {
    const b = good.slice()
    f(new DataView(b.buffer))
    return b
  }
  const unknownKind = writeBtf([{name: 'x', kind: 25, st: 0}])
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty', new Uint8Array(0), /truncated BTF: 0 bytes/],
    ['short header', good.slice(0, 10), /truncated BTF: 10 bytes/],
    ['bad magic (an ELF file)', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, ...new Array(40).fill(0)]), /not BTF: magic is 0x457f/],
    ['version 2', writeBtf(sampleTypes(), {version: 2}), /unsupported BTF version 2/],
    ['hdr_len past the end', withHeader((dv) => dv.setUint32(4, 1 << 20, true)), /corrupt BTF header: hdr_len 1048576/],
    ['truncated in the type section', good.slice(0, 60), /truncated BTF: the type section ends/],
    ['truncated in the string section', good.slice(0, good.length - 3), /truncated BTF: the string section ends/],
    ['type_len cuts a record', withHeader((dv) => dv.setUint32(12, 12 * 1 + 8, true)), /truncated BTF: type 1 \(kind 1\) runs past|truncated BTF: type record/],
    ['unknown kind', unknownKind, /unknown BTF kind 25 in type 1/],
  ]
  for (const [name, buf, re] of cases) {
    it(name, () => {
      const r = parseBtfStructOffsets(buf, 'sk_buff', ['mark'])
      expect(r.facts).toEqual({})
      expect(r.problems).toHaveLength(1)
      expect(r.problems[0]!.message).toMatch(re)
    })
  }

  it('a struct that is only forward-declared is "missing"', () => {
    const r = parseBtfStructOffsets(writeBtf(sampleTypes().slice(0, 20)), 'sk_buff', ['mark'])
    expect(r.problems.map((p) => p.message)).toEqual(['no struct sk_buff with members in 20 BTF types'])
  })

  it('member type ids out of range and self-nesting anonymous members do not loop or throw', () => {
    const types: BtfTypeRecord[] = [
      {name: 'unsigned int', kind: K.INT, st: 4, tail: [32]},
      {kind: K.STRUCT, vlen: 2, st: 4, tail: [0, 2, 0, ...member('mark', 999, 0)]}, // anon member of itself (id 2)
      {name: 'loop', kind: K.TYPEDEF, st: 3}, // typedef to itself
      {name: 'sk_buff', kind: K.STRUCT, vlen: 2, st: 8, tail: [0, 2, 0, ...member('len', 3, 32)]},
    ]
    const r = parseBtfStructOffsets(writeBtf(types), 'sk_buff', ['mark', 'len', 'priority'])
    expect(r.facts).toEqual({mark: {offsetBytes: 0}, len: {offsetBytes: 4}})
    expect(r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/nest deeper than 32/), 'struct sk_buff has no member "priority" (searched anonymous members too)'])
  })
})

/**
 * The members of `struct NAME` by bpftool's own reading of the same file (`bpftool btf dump file F format raw`),
 * anonymous struct/union members entered in order as the kernel's C does: an independent oracle for the parser.
 * Lines: `[870] STRUCT 'sk_buff' size=224 vlen=28`, then `\t'mark' type_id=23 bits_offset=1312 [bitfield_size=N]`.
 */
function offsetsFromBpftoolRaw(raw: string, structName: string): Map<string, {offsetBytes: number; sizeBits: number}> {
  const types = new Map<number, {kind: string; name: string; size?: number; typeId?: number; members: Array<{name: string; typeId: number; bits: number; bitfield?: number}>}>()
  let cur: ReturnType<typeof types.get>
  for (const line of raw.split('\n')) {
    const t = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line)
    if (t) {
      cur = {kind: t[2]!, name: t[3]!, members: []}
      const size = / size=(\d+)/.exec(t[4]!)
      const typeId = / type_id=(\d+)/.exec(t[4]!)
      if (size) cur.size = Number(size[1])
      if (typeId) cur.typeId = Number(typeId[1])
      types.set(Number(t[1]), cur)
      continue
    }
    const m = /^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?$/.exec(line)
    if (m && cur) cur.members.push({name: m[1]!, typeId: Number(m[2]), bits: Number(m[3]), ...(m[4] ? {bitfield: Number(m[4])} : {})})
  }
  const sizeBits = (id: number): number => {
    for (let t = types.get(id), hops = 0; t && hops < 32; t = t.typeId === undefined ? undefined : types.get(t.typeId), hops++) {
      if (t.size !== undefined) return t.size * 8
      if (t.kind === 'ARRAY') return NaN // not needed for the fields compared here
    }
    return NaN
  }
  const out = new Map<string, {offsetBytes: number; sizeBits: number}>()
  const walk = (id: number, base: number): void => {
    for (const mem of types.get(id)?.members ?? []) {
      const bits = base + mem.bits
      const kind = types.get(mem.typeId)?.kind
      if (mem.name === '(anon)' && (kind === 'STRUCT' || kind === 'UNION')) walk(mem.typeId, bits)
      else if (!out.has(mem.name)) out.set(mem.name, {offsetBytes: Math.floor(bits / 8), sizeBits: mem.bitfield ?? sizeBits(mem.typeId)})
    }
  }
  const id = [...types].find(([, t]) => t.kind === 'STRUCT' && t.name === structName && t.members.length > 0)?.[0]
  if (id !== undefined) walk(id, 0)
  return out
}

describe('offsetsFromBpftoolRaw (the oracle below)', () => {
  it('enters anonymous members, takes the first of a name, resolves typedefs, reads bitfields', () => {
    const raw = [
      "[1] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)",
      "[2] TYPEDEF '__u32' type_id=1",
      "[3] STRUCT '(anon)' size=8 vlen=2",
      "\t'pad' type_id=1 bits_offset=0",
      "\t'mark' type_id=2 bits_offset=32",
      "[4] UNION '(anon)' size=8 vlen=2",
      "\t'(anon)' type_id=3 bits_offset=0",
      "\t'headers' type_id=3 bits_offset=0",
      "[5] STRUCT 'sk_buff' size=24 vlen=3",
      "\t'len' type_id=2 bits_offset=0",
      "\t'(anon)' type_id=4 bits_offset=64",
      "\t'pkt_type' type_id=1 bits_offset=133 bitfield_size=3",
    ].join('\n')
    expect(Object.fromEntries(offsetsFromBpftoolRaw(raw, 'sk_buff'))).toEqual({
      len: {offsetBytes: 0, sizeBits: 32},
      pad: {offsetBytes: 8, sizeBits: 32},
      mark: {offsetBytes: 12, sizeBits: 32},
      headers: {offsetBytes: 8, sizeBits: 64},
      pkt_type: {offsetBytes: 16, sizeBits: 3},
    })
  })
})

const bpftoolMissing = spawnSync('sh', ['-c', 'command -v bpftool'], {encoding: 'utf8'}).status !== 0
const liveSkip = !existsSync(VMLINUX_BTF_PATH) ? `no ${VMLINUX_BTF_PATH} (kernel without CONFIG_DEBUG_INFO_BTF)` : bpftoolMissing ? 'bpftool not installed' : ''

describe.skipIf(liveSkip !== '')(`this machine's ${VMLINUX_BTF_PATH} (${liveSkip || 'read by the parser and by bpftool'})`, () => {
  it('gives the sk_buff offsets bpftool reads from the same file (whatever the layout of this build)', async () => {
    const r = await readVmlinuxBtf()
    if ('error' in r) throw new Error(r.error)
    const layout = parseSkBuffLayout(r.bytes)
    expect(layout.problems).toEqual([])
    expect(Object.keys(layout.facts).sort()).toEqual(['hash', 'len', 'mark', 'priority', 'protocol', 'tc_index'])
    const dump = await runCommand({file: 'bpftool', args: ['btf', 'dump', 'file', VMLINUX_BTF_PATH, 'format', 'raw'], logicalArgv: ['bpftool', 'btf', 'dump', 'file', VMLINUX_BTF_PATH, 'format', 'raw'], timeoutMs: 60_000})
    if (dump.failure) throw new Error(`${dump.message}\n${dump.stderr}`)
    const oracle = offsetsFromBpftoolRaw(dump.stdout, 'sk_buff')
    expect(layout.facts).toEqual(Object.fromEntries(Object.keys(layout.facts).map((k) => [k, oracle.get(k)])))
    // The fields the verifier rewrites __sk_buff accesses to are whole words (mark, priority) and half-words.
    expect(layout.facts.mark!.sizeBits).toBe(32)
    expect(layout.facts.priority!.sizeBits).toBe(32)
    expect(layout.facts.protocol!.sizeBits).toBe(16)
  })
})

describe('readSkBuffLayout', () => {
  it('reports an unreadable file as a problem', async () => {
    const r = await readSkBuffLayout('/nonexistent/vmlinux')
    expect(r).toEqual({facts: {}, problems: [{probe: 'btf struct sk_buff', message: 'read /nonexistent/vmlinux: no such file (kernel built without CONFIG_DEBUG_INFO_BTF?)'}]})
  })
})
