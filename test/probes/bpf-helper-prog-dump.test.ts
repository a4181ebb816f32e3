import {describe, expect, it} from 'vitest'
import {summariseProgram} from '../../src/bpf/interpreter.js'
import type {XlatedInsn} from '../../src/model/xlated.js'
import {parseBpfHelperProgDump, progDumpArgv, progDumpWarnings} from '../../src/probes/bpf-helper-prog-dump.js'
import {decodeXlatedDisasm, parseBpftoolXlatedPrograms} from '../../src/probes/bpftool-xlated.js'
import {formatXlatedInsn, rawInsnFromHex, type RawInsn} from '../../src/probes/xlated-format.js'
import {testdata} from '../helpers/fixtures.js'

/** offsetof(struct sk_buff, mark) on the kernel the captures come from (6.18.44, testdata/bpf/README.md). */
const MARK = 164

/** bpftool's `proto` (the function prototype from BTF) is the one field the helper does not give. */
const withoutProto = (insns: readonly XlatedInsn[]): XlatedInsn[] => insns.map(({proto: _proto, ...rest}) => rest)

describe('the same programs through the helper and through bpftool 7.1 (testdata/bpf/prog-dump, one load)', () => {
  const helper = parseBpfHelperProgDump(testdata('bpf/prog-dump/helper.json'))
  const bpftool = JSON.parse(testdata('bpf/prog-dump/bpftool.json')) as Record<string, {name: string; bpftool: unknown}>

  it('the helper dump parses without problems, every program read', () => {
    expect(helper.problems).toEqual([])
    expect(helper.facts.errors).toEqual([])
    expect(helper.facts.programs.map((p) => p.id).sort()).toEqual(Object.keys(bpftool).map(Number).sort())
  })

  for (const [id, b] of Object.entries(bpftool)) {
    it(`${b.name} (id ${id}): instruction for instruction, and the summary`, () => {
      const fromBpftool = parseBpftoolXlatedPrograms(JSON.stringify(b.bpftool))
      expect(fromBpftool.problems).toEqual([])
      const ours = helper.facts.programs.find((p) => p.id === Number(id))!
      expect(ours.insns).toEqual(withoutProto(fromBpftool.facts[0]!.insns))
      expect(summariseProgram(ours.insns, {markOffset: MARK})).toEqual(summariseProgram(fromBpftool.facts[0]!.insns, {markOffset: MARK}))
    })
  }

  it('covers what the comparison is meant to: mark writes, map loads, helper calls, tail calls, subprograms, source lines', () => {
    const all = helper.facts.programs.flatMap((p) => p.insns)
    const s = helper.facts.programs.map((p) => summariseProgram(p.insns, {markOffset: MARK}))
    expect(s.some((x) => x.writes.length > 0)).toBe(true)
    expect(s.some((x) => x.mapIds.length > 0)).toBe(true)
    expect(s.some((x) => x.helpers.includes('bpf_tail_call'))).toBe(true)
    expect(s.some((x) => x.helpers.includes('bpf_redirect'))).toBe(true)
    expect(s.some((x) => x.subprogramCalls.length > 0)).toBe(true)
    expect(all.some((i) => i.src !== undefined)).toBe(true)
  })
})

const raw = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({code, dst, src, off, imm})
const NO_CALLS = {sym: new Map<number, string>(), jitedKsyms: 0}

describe('formatXlatedInsn: bpftool 7.1 text for forms the captures lack (kernel/bpf/disasm.c of Linux 6.1)', () => {
  const cases: Array<[string, RawInsn, string, RawInsn?]> = [
    ['alu64 imm', raw(0xb7, 2, 0, 0, 4660), '(b7) r2 = 4660'],
    ['alu32 reg', raw(0xbc, 3, 2, 0, 0), '(bc) w3 = w2'],
    ['alu32 negative imm', raw(0x54, 2, 0, 0, -3841), '(54) w2 &= -3841'],
    ['arsh', raw(0xc7, 1, 0, 0, 3), '(c7) r1 s>>= 3'],
    ['neg', raw(0x87, 2, 0, 0, 0), '(87) r2 = -r2'],
    ['neg32', raw(0x84, 2, 0, 0, 0), '(84) w2 = -w2'],
    ['be16', raw(0xdc, 2, 0, 0, 16), '(dc) r2 = be16 r2'],
    ['le32', raw(0xd4, 2, 0, 0, 32), '(d4) r2 = le32 r2'],
    ['bswap (cpu v4): 7.1 does not know it', raw(0xd7, 2, 0, 0, 64), 'BUG_alu64_d7'],
    ['store imm', raw(0x62, 10, 0, -4, 0), '(62) *(u32 *)(r10 -4) = 0'],
    ['store reg', raw(0x7b, 10, 1, -16, 0), '(7b) *(u64 *)(r10 -16) = r1'],
    ['load', raw(0x71, 2, 1, 0, 0), '(71) r2 = *(u8 *)(r1 +0)'],
    ['ldsx (cpu v4)', raw(0x91, 2, 1, 4, 0), 'BUG_ldx_91'],
    ['atomic add', raw(0xdb, 1, 2, 0, 0x00), '(db) lock *(u64 *)(r1 +0) += r2'],
    ['atomic or32', raw(0xc3, 1, 2, 8, 0x40), '(c3) lock *(u32 *)(r1 +8) |= r2'],
    ['atomic fetch_add', raw(0xc3, 1, 2, 0, 0x01), '(c3) r2 = atomic_fetch_add((u32 *)(r1 +0), r2)'],
    ['atomic64 fetch_xor', raw(0xdb, 1, 2, 0, 0xa1), '(db) r2 = atomic64_fetch_xor((u64 *)(r1 +0), r2)'],
    ['xchg', raw(0xdb, 1, 3, 0, 0xe1), '(db) r3 = atomic64_xchg((u64 *)(r1 +0), r3)'],
    ['cmpxchg', raw(0xc3, 1, 3, 0, 0xf1), '(c3) r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r3)'],
    ['nospec', raw(0xc2, 0, 0, 0, 0), '(c2) nospec'],
    ['ld_abs', raw(0x28, 0, 0, 0, 12), '(28) r0 = *(u16 *)skb[12]'],
    ['ld_ind', raw(0x40, 0, 7, 0, 0), '(40) r0 = *(u32 *)skb[r7 + 0]'],
    ['map fd', raw(0x18, 1, 1, 0, 25), '(18) r1 = map[id:25]', raw(0, 0, 0, 0, 0)],
    ['map value', raw(0x18, 1, 2, 0, 25), '(18) r1 = map[id:25][0]+8', raw(0, 0, 0, 0, 8)],
    ['subprog address', raw(0x18, 2, 4, 0, 5), '(18) r2 = subprog[+5]', raw(0, 0, 0, 0, 0)],
    ['plain 64-bit constant', raw(0x18, 1, 0, 0, -16385), '(18) r1 = 0x1ffffbfff', raw(0, 0, 0, 0, 1)],
    ['goto', raw(0x05, 0, 0, -3, 0), '(05) goto pc-3'],
    ['gotol (cpu v4) as 7.1 prints it', raw(0x06, 0, 0, 0, 7), '(06) if w0 jmp 0x7 goto pc+0'],
    ['jset imm', raw(0x45, 2, 0, 2, 0x4100), '(45) if r2 & 0x4100 goto pc+2'],
    ['jmp32 reg', raw(0x5e, 2, 3, 1, 0), '(5e) if w2 != w3 goto pc+1'],
    ['negative imm compared (hex of the u32)', raw(0x15, 2, 0, 4, -1), '(15) if r2 == 0xffffffff goto pc+4'],
    ['may_goto: no name in 7.1', raw(0xe5, 0, 0, 1, 0), '(e5) if r0 (null) 0x0 goto pc+1'],
    ['exit', raw(0x95, 0, 0, 0, 0), '(95) exit'],
    ['bpf-to-bpf call, not JITed: the offset only', raw(0x85, 0, 1, 2, 1), '(85) call pc+2'],
  ]
  for (const [what, insn, text, next] of cases) {
    it(what, () => {
      expect(formatXlatedInsn(insn, next, 0, NO_CALLS)).toBe(text)
      if (!text.startsWith('BUG_')) expect(decodeXlatedDisasm(text, 0).op.kind, text).not.toBe('unknown')
    })
  }

  it('calls take the name the helper resolved; a JITed subprogram call its symbol', () => {
    const sym = new Map([[3, 'bpf_redirect'], [4, 'bpf_prog_7df461bbfae31152_tag_it'], [5, '0xffffffffc0001234']])
    const calls = {sym, jitedKsyms: 2}
    expect(formatXlatedInsn(raw(0x85, 0, 0, 0, 10560128), undefined, 3, calls)).toBe('(85) call bpf_redirect#10560128')
    expect(formatXlatedInsn(raw(0x85, 0, 1, 2, 1), undefined, 4, calls)).toBe('(85) call pc+2#bpf_prog_7df461bbfae31152_tag_it')
    expect(formatXlatedInsn(raw(0x85, 0, 2, 0, -77), undefined, 5, calls)).toBe('(85) call 0xffffffffc0001234#-77')
  })

  it('rawInsnFromHex: fields from the 8 bytes in memory order', () => {
    expect(rawInsnFromHex('6316a40000000000')).toEqual({code: 0x63, dst: 6, src: 1, off: 164, imm: 0})
    expect(rawInsnFromHex('b70200000cf0ffff')).toEqual({code: 0xb7, dst: 2, src: 0, off: 0, imm: -4084})
    expect(rawInsnFromHex('0500fdff00000000')).toEqual({code: 0x05, dst: 0, src: 0, off: -3, imm: 0})
    expect(rawInsnFromHex('b70200')).toBeUndefined()
    expect(rawInsnFromHex('zz02000000000000')).toBeUndefined()
  })
})

describe('parseBpfHelperProgDump: malformed and partial outputs', () => {
  const head = '{"helper":"nodeinspect-bpf","version":1,"programs":'
  const bad: Array<[string, string, RegExp]> = [
    ['empty', '', /./],
    ['not JSON', '{"helper":', /./],
    ["the helper's error object", '{"error":"prog-dump: no program id"}', /helper error: prog-dump: no program id/],
    ['another helper', '{"helper":"other","version":1,"programs":[]}', /unknown helper output/],
    ['a later version', '{"helper":"nodeinspect-bpf","version":2,"programs":[]}', /unknown helper output/],
    ['a list', '[]', /expected a JSON object|unknown helper output/],
  ]
  for (const [what, text, message] of bad) {
    it(`${what}: unusable, with a problem`, () => {
      const r = parseBpfHelperProgDump(text)
      expect(r.facts.unusable).toMatch(message)
      expect(r.problems.length).toBeGreaterThan(0)
      expect(r.facts.programs).toEqual([])
    })
  }

  it('entry problems: no id, no insns, a bad instruction, a bad call; the rest still read', () => {
    const r = parseBpfHelperProgDump(
      `${head}[{"name":"x"},{"id":5},{"id":6,"insns":["b702000034120000","nothex","9500000000000000"],"calls":[{"pc":"1"}],"jited_ksyms":0},{"id":7,"insns":["9500000000000000"]}]}`,
    )
    expect(r.facts.unusable).toBeUndefined()
    expect(r.problems.map((p) => p.message)).toEqual(['program entry lacks its id', 'program 5: no "insns" list', 'program 6: call entry lacks pc or sym', 'program 6: instruction 1 is not 16 hex digits'])
    expect(r.facts.programs.map((p) => [p.id, p.insns.map((i) => `${i.pc} ${i.disasm}`)])).toEqual([
      [6, ['0 (b7) r2 = 4660', '2 (95) exit']],
      [7, ['0 (95) exit']],
    ])
  })

  it('per-program errors become warnings, one per kind', () => {
    const r = parseBpfHelperProgDump(
      `${head}[{"id":9,"error":"missing","errno":2,"message":"BPF_PROG_GET_FD_BY_ID 9: No such file or directory (unloaded)"},{"id":10,"error":"missing","errno":2,"message":"m10"},{"id":11,"error":"permission","errno":1,"message":"p11"}]}`,
    )
    expect(r.problems).toEqual([])
    expect(progDumpWarnings(r.facts.errors)).toEqual([
      {probe: 'nodeinspect-bpf prog-dump', kind: 'exit', message: '2 programs not read (missing): BPF_PROG_GET_FD_BY_ID 9: No such file or directory (unloaded); m10'},
      {probe: 'nodeinspect-bpf prog-dump', kind: 'permission', message: 'p11'},
    ])
  })

  it('source lines: leading white space trimmed as bpftool does; a line on the second slot of a 64-bit load is not shown', () => {
    const r = parseBpfHelperProgDump(
      `${head}[{"id":3,"insns":["1811000019000000","0000000000000000","9500000000000000"],"calls":[],"jited_ksyms":0,"line_info":[{"insn_off":0,"src":"\\t  x = map;"},{"insn_off":1,"src":"hidden"},{"insn_off":2}]}]}`,
    )
    expect(r.facts.programs[0]!.insns).toEqual([
      {pc: 0, code: 0x18, disasm: '(18) r1 = map[id:25]', src: 'x = map;', op: {kind: 'ld-imm64', dst: 1, mapId: 25}},
      {pc: 2, code: 0x95, disasm: '(95) exit', op: {kind: 'exit'}},
    ])
  })

  it('the argv: ids sorted and unique, so a snapshot key does not depend on the order asked', () => {
    expect(progDumpArgv([30, 4, 30, 12])).toEqual(['nodeinspect-bpf', 'prog-dump', '4', '12', '30'])
  })
})
