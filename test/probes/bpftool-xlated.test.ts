import {describe, expect, it} from 'vitest'
import {BPFTOOL_XLATED_ARGV, canonicalHelperName, collectBpftoolXlated, decodeXlatedDisasm, parseBpftoolXlatedDumps, parseBpftoolXlatedJson, parseBpftoolXlatedPrograms, parseBpftoolXlatedText} from '../../src/probes/bpftool-xlated.js'
import type {XlatedOp} from '../../src/model/xlated.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'
import {testdata} from '../helpers/fixtures.js'

describe('decodeXlatedDisasm: every form bpftool prints', () => {
  const cases: Array<[string, XlatedOp, number?]> = [
    // ALU / ALU64, immediate and register, 64-bit r and 32-bit w
    ['(b7) r2 = 4660', {kind: 'alu', width: 64, op: 'mov', dst: 2, src: {imm: 4660}}],
    ['(bf) r6 = r1', {kind: 'alu', width: 64, op: 'mov', dst: 6, src: {reg: 1}}],
    ['(bc) w3 = w2', {kind: 'alu', width: 32, op: 'mov', dst: 3, src: {reg: 2}}],
    ['(b4) w0 = -1', {kind: 'alu', width: 32, op: 'mov', dst: 0, src: {imm: -1}}],
    ['(47) r2 |= 16384', {kind: 'alu', width: 64, op: 'or', dst: 2, src: {imm: 16384}}],
    ['(54) w2 &= -3841', {kind: 'alu', width: 32, op: 'and', dst: 2, src: {imm: -3841}}],
    ['(5f) r0 &= r1', {kind: 'alu', width: 64, op: 'and', dst: 0, src: {reg: 1}}],
    ['(a4) w1 ^= 4660', {kind: 'alu', width: 32, op: 'xor', dst: 1, src: {imm: 4660}}],
    ['(07) r2 += -4', {kind: 'alu', width: 64, op: 'add', dst: 2, src: {imm: -4}}],
    ['(1f) r1 -= r2', {kind: 'alu', width: 64, op: 'sub', dst: 1, src: {reg: 2}}],
    ['(27) r0 *= 168', {kind: 'alu', width: 64, op: 'mul', dst: 0, src: {imm: 168}}],
    ['(37) r0 /= 3', {kind: 'alu', width: 64, op: 'div', dst: 0, src: {imm: 3}}],
    ['(97) r0 %= 3', {kind: 'alu', width: 64, op: 'mod', dst: 0, src: {imm: 3}}],
    ['(67) r1 <<= 32', {kind: 'alu', width: 64, op: 'lsh', dst: 1, src: {imm: 32}}],
    ['(77) r1 >>= 32', {kind: 'alu', width: 64, op: 'rsh', dst: 1, src: {imm: 32}}],
    ['(c7) r1 s>>= 32', {kind: 'alu', width: 64, op: 'arsh', dst: 1, src: {imm: 32}}],
    ['(3f) r1 s/= r2', {kind: 'alu', width: 64, op: 'sdiv', dst: 1, src: {reg: 2}}],
    ['(9c) w1 s%= w2', {kind: 'alu', width: 32, op: 'smod', dst: 1, src: {reg: 2}}],
    ['(bf) r1 = (s8)r2', {kind: 'alu', width: 64, op: 'mov', dst: 1, src: {reg: 2}, signExtendFrom: 8}],
    ['(87) r2 = -r2', {kind: 'neg', width: 64, dst: 2}],
    ['(84) w2 = -w2', {kind: 'neg', width: 32, dst: 2}],
    ['(dc) r2 = be16 r2', {kind: 'endian', dst: 2, order: 'be', bits: 16}],
    ['(d4) r2 = le32 r2', {kind: 'endian', dst: 2, order: 'le', bits: 32}],
    ['(d7) r2 = bswap64 r2', {kind: 'endian', dst: 2, order: 'bswap', bits: 64}],
    ['(bf) r0 = &(void __percpu *)(r0)', {kind: 'opaque', dst: 0}],
    ['(bf) r1 = addr_space_cast(r2, 0, 1)', {kind: 'opaque', dst: 1}],
    // memory
    ['(61) r2 = *(u32 *)(r1 +164)', {kind: 'load', size: 4, signed: false, dst: 2, base: 1, off: 164}],
    ['(79) r1 = *(u64 *)(r6 +16)', {kind: 'load', size: 8, signed: false, dst: 1, base: 6, off: 16}],
    ['(89) r1 = *(s16 *)(r10 -2)', {kind: 'load', size: 2, signed: true, dst: 1, base: 10, off: -2}],
    ['(63) *(u32 *)(r1 +164) = r2', {kind: 'store', size: 4, base: 1, off: 164, src: {reg: 2}}],
    ['(62) *(u32 *)(r10 -4) = 0', {kind: 'store', size: 4, base: 10, off: -4, src: {imm: 0}}],
    ['(7b) *(u64 *)(r10 -8) = r1', {kind: 'store', size: 8, base: 10, off: -8, src: {reg: 1}}],
    ['(73) *(u8 *)(r6 +9) = r1', {kind: 'store', size: 1, base: 6, off: 9, src: {reg: 1}}],
    ['(db) lock *(u64 *)(r0 +0) += r1', {kind: 'atomic', size: 8, base: 0, off: 0, op: '+=', src: 1}],
    ['(c3) r2 = atomic_fetch_add((u32 *)(r1 +0), r2)', {kind: 'atomic', size: 4, base: 1, off: 0, op: 'fetch_add', src: 2, fetchDst: 2}],
    ['(db) r0 = atomic64_cmpxchg((u64 *)(r1 +8), r0, r3)', {kind: 'atomic', size: 8, base: 1, off: 8, op: 'cmpxchg', src: 3, fetchDst: 0}],
    ['(db) r3 = atomic64_xchg((u64 *)(r1 +8), r3)', {kind: 'atomic', size: 8, base: 1, off: 8, op: 'xchg', src: 3, fetchDst: 3}],
    ['(d3) r1 = load_acquire((u8 *)(r2 +0))', {kind: 'atomic', size: 1, base: 2, off: 0, op: 'load_acquire', fetchDst: 1}],
    ['(db) store_release((u64 *)(r1 +0), r2)', {kind: 'atomic', size: 8, base: 1, off: 0, op: 'store_release', src: 2}],
    // 64-bit immediates: map references, callbacks, constants
    ['(18) r1 = map[id:25]', {kind: 'ld-imm64', dst: 1, mapId: 25}],
    ['(18) r1 = map[id:100][0]+8', {kind: 'ld-imm64', dst: 1, mapId: 100, mapValueOffset: 8}],
    ['(18) r2 = subprog[+5]', {kind: 'ld-imm64', dst: 2, subprogOffset: 5}],
    ['(18) r1 = 0xffffbfff', {kind: 'ld-imm64', dst: 1, value: '0xffffbfff'}],
    ['(20) r0 = *(u32 *)skb[12]', {kind: 'ld-abs', size: 4, off: 12}],
    ['(40) r0 = *(u16 *)skb[r7 + 0]', {kind: 'ld-abs', size: 2, indexReg: 7, off: 0}],
    // calls
    ['(85) call bpf_redirect#10291712', {kind: 'call', callee: 'helper', symbol: 'bpf_redirect', helper: 'bpf_redirect', imm: 10291712}],
    ['(85) call bpf_tail_call#12', {kind: 'call', callee: 'helper', symbol: 'bpf_tail_call', helper: 'bpf_tail_call', imm: 12}],
    ['(85) call bpf_skb_store_bytes#-123', {kind: 'call', callee: 'helper', symbol: 'bpf_skb_store_bytes', helper: 'bpf_skb_store_bytes', imm: -123}],
    ['(85) call dev_map_redirect#1234', {kind: 'call', callee: 'helper', symbol: 'dev_map_redirect', helper: 'bpf_redirect_map', imm: 1234}],
    ['(85) call 0xffffffffc0a1b2c3#1234', {kind: 'call', callee: 'helper', symbol: '0xffffffffc0a1b2c3', imm: 1234}],
    ['(85) call pc+2#bpf_prog_7df461bbfae31152_tag_it', {kind: 'call', callee: 'subprog', offset: 2, target: 13, symbol: 'bpf_prog_7df461bbfae31152_tag_it'}],
    ['(85) call pc-4', {kind: 'call', callee: 'subprog', offset: -4, target: 7}],
    // jumps (pc 10 here)
    ['(05) goto pc+3', {kind: 'jump', offset: 3, target: 14, conditional: false}],
    ['(05) goto pc-1', {kind: 'jump', offset: -1, target: 10, conditional: false}],
    ['(06) gotol pc+70000', {kind: 'jump', offset: 70000, target: 70011, conditional: false}],
    ['(e5) may_goto pc+2', {kind: 'jump', offset: 2, target: 13, conditional: true}],
    ['(e0) gotox r1', {kind: 'indirect-jump', reg: 1}],
    ['(15) if r2 == 0xd00 goto pc+4', {kind: 'jump', offset: 4, target: 15, conditional: true, cond: {op: '==', width: 64, dst: 2, src: {imm: 0xd00}}}],
    ['(56) if w2 != 0x200 goto pc+2', {kind: 'jump', offset: 2, target: 13, conditional: true, cond: {op: '!=', width: 32, dst: 2, src: {imm: 0x200}}}],
    ['(55) if r2 != 0xfffff0ff goto pc-3', {kind: 'jump', offset: -3, target: 8, conditional: true, cond: {op: '!=', width: 64, dst: 2, src: {imm: -3841}}}],
    ['(45) if r2 & 0x4000 goto pc+1', {kind: 'jump', offset: 1, target: 12, conditional: true, cond: {op: '&', width: 64, dst: 2, src: {imm: 0x4000}}}],
    ['(cd) if r1 s< r2 goto pc+7', {kind: 'jump', offset: 7, target: 18, conditional: true, cond: {op: 's<', width: 64, dst: 1, src: {reg: 2}}}],
    ['(3e) if w1 >= w3 goto pc+1', {kind: 'jump', offset: 1, target: 12, conditional: true, cond: {op: '>=', width: 32, dst: 1, src: {reg: 3}}}],
    // bpftool 7.1 on newer instructions: may_goto as a "(null)" compare, gotol as a "jmp" compare
    ['(e5) if r0 (null) 0x0 goto pc+3', {kind: 'jump', offset: 3, target: 14, conditional: true}],
    ['(06) if w0 jmp 0x5 goto pc+0', {kind: 'jump', offset: 5, target: 16, conditional: false}],
    ['(95) exit', {kind: 'exit'}],
    ['(c8) nospec', {kind: 'nospec'}],
  ]
  for (const [disasm, op] of cases) {
    it(disasm, () => {
      const r = decodeXlatedDisasm(disasm, 10)
      expect(r.op).toEqual(op)
      expect(r.code).toBe(parseInt(disasm.slice(1, 3), 16))
    })
  }

  it('keeps what it cannot decode as unknown, with the opcode when it has one', () => {
    expect(decodeXlatedDisasm('BUG_ldx_91', 0)).toEqual({op: {kind: 'unknown'}, code: 0x91})
    expect(decodeXlatedDisasm('(2d) something new', 0)).toEqual({op: {kind: 'unknown'}, code: 0x2d})
    expect(decodeXlatedDisasm('garbage', 0)).toEqual({op: {kind: 'unknown'}})
    // unknown text that still names its destination: only the destination is known
    expect(decodeXlatedDisasm('(bf) r3 = frobnicate(r1)', 0)).toEqual({op: {kind: 'opaque', dst: 3, guessed: true}, code: 0xbf})
  })
})

describe('canonicalHelperName', () => {
  it('maps kallsyms names to the helper UAPI names', () => {
    expect(canonicalHelperName('bpf_redirect')).toBe('bpf_redirect')
    expect(canonicalHelperName('bpf_skb_fib_lookup')).toBe('bpf_fib_lookup')
    expect(canonicalHelperName('cpu_map_redirect')).toBe('bpf_redirect_map')
    expect(canonicalHelperName('dev_hash_map_redirect')).toBe('bpf_redirect_map')
    expect(canonicalHelperName('__htab_map_lookup_elem')).toBe('bpf_map_lookup_elem')
    expect(canonicalHelperName('htab_lru_map_update_elem')).toBe('bpf_map_update_elem')
    expect(canonicalHelperName('bpf_map_lookup_elem')).toBe('bpf_map_lookup_elem')
    expect(canonicalHelperName('bpf_tc_sk_lookup_tcp')).toBe('bpf_sk_lookup_tcp')
    expect(canonicalHelperName('bpf_skb_event_output')).toBe('bpf_perf_event_output')
    expect(canonicalHelperName('0xffffffff81234567')).toBeUndefined()
    expect(canonicalHelperName('bpf_unspec')).toBeUndefined()
  })
})

describe('parseBpftoolXlatedJson on captures (kernel 6.18, bpftool 7.1, testdata/bpf/xlated)', () => {
  it('numbers slots across 64-bit immediates and keeps src/proto', () => {
    const {facts, problems} = parseBpftoolXlatedJson(testdata('bpf/xlated/xmark.json'))
    expect(problems).toEqual([])
    expect(facts.map((i) => i.pc)).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28, 30, 31, 32, 33])
    expect(facts[0]).toEqual({pc: 0, code: 0xbf, disasm: '(bf) r6 = r1', proto: 'int nit_xmark(struct __sk_buff * skb)', src: 'int nit_xmark(struct __sk_buff *skb)', op: {kind: 'alu', width: 64, op: 'mov', dst: 6, src: {reg: 1}}})
    expect(facts.find((i) => i.pc === 17)!.op).toEqual({kind: 'ld-imm64', dst: 1, mapId: expect.any(Number), mapValueOffset: 0})
    // a jump lands on a real slot
    const j = facts.find((i) => i.pc === 9)!.op
    expect(j.kind === 'jump' && facts.some((i) => i.pc === j.target)).toBe(true)
  })

  it('reads the subprogram call and the callee prototype', () => {
    const {facts, problems} = parseBpftoolXlatedJson(testdata('bpf/xlated/subprog.json'))
    expect(problems).toEqual([])
    expect(facts[3]!.op).toEqual({kind: 'call', callee: 'subprog', offset: 2, target: 6, symbol: expect.stringMatching(/^bpf_prog_[0-9a-f]{16}_tag_it$/)})
    expect(facts[6]!.proto).toBe('int tag_it(struct __sk_buff * skb)')
  })

  it('the plain text form gives the same instructions as -j (or_mark built with -mcpu=v3)', () => {
    const json = parseBpftoolXlatedJson(testdata('bpf/xlated/or_mark_v3.json'))
    const text = parseBpftoolXlatedText(testdata('bpf/xlated/or_mark_v3.txt'))
    expect(text.problems).toEqual([])
    expect(text.facts).toEqual(json.facts)
    expect(text.facts.map((i) => i.disasm)).toContain('(56) if w2 != 0x200 goto pc+2')
  })

  it('drops the `linum` suffix from source lines', () => {
    const {facts, problems} = parseBpftoolXlatedText(testdata('bpf/xlated/xmark-linum.txt'))
    expect(problems).toEqual([])
    expect(facts[2]!.src).toBe('__u32 k = 0;')
    expect(facts[4]!.src).toBeUndefined() // `;  [file:… line_num:0 line_col:0]`: no source text
    expect(facts).toHaveLength(30)
  })

  it('reads the multi-program form of `dump xlated name X`', () => {
    const r = parseBpftoolXlatedPrograms(testdata('bpf/xlated/set_mark-by-name.json'))
    expect(r.problems).toEqual([])
    expect(r.facts.map((p) => [p.name, p.type, p.tag, p.insns.length])).toEqual([
      ['nit_set_mark', 'sched_cls', '955bad8f6279a889', 4],
      ['nit_set_mark', 'sched_cls', '955bad8f6279a889', 4],
    ])
    expect(r.facts.every((p) => typeof p.id === 'number')).toBe(true)
    expect(parseBpftoolXlatedJson(testdata('bpf/xlated/set_mark-by-name.json')).problems.map((p) => p.message)).toEqual([
      '2 programs in one dump: use parseBpftoolXlatedPrograms',
    ])
  })
})

describe('parsers on bad input: problems, never a throw', () => {
  const json: Array<[string, string, RegExp]> = [
    ['empty', '', /empty output/],
    ['truncated', '[{"disasm":"(b7) r2 = 4660"},{"dis', /not valid JSON/],
    ['bpftool error object', '{"error":"get by id (999999): No such file or directory"}', /bpftool error: get by id \(999999\)/],
    ['null (two id selectors on bpftool 7.1)', 'null', /bpftool printed null/],
    ['a number', '42', /expected a list of instructions or programs/],
    ['entry without disasm', '[{"src":"x"}]', /instruction 0 has no "disasm"/],
    ['bpftool error in a list (as net show prints them, docs/kernel-notes.md#kn-5-bpftool-net-json)', '[{"error":"can\'t get next program: Operation not permitted"}]', /bpftool error: can't get next program/],
    ['undecodable instruction', '[{"disasm":"BUG_ldx_91"},{"disasm":"(95) exit"}]', /pc 0: instruction not decoded/],
    ['program without insns', '[{"id":3,"type":"xdp"}]', /program entry lacks an "insns" list/],
  ]
  for (const [name, text, re] of json) {
    it(`json: ${name}`, () => {
      const r = parseBpftoolXlatedJson(text)
      expect(r.problems.length).toBeGreaterThan(0)
      expect(r.problems[0]!.message).toMatch(re)
      expect(r.problems[0]!.probe).toBe('bpftool -j prog dump xlated')
    })
  }

  it('json: `opcodes` settle what bpftool 7.1 prints in an older form (sign-extending load, movsx)', () => {
    const text = JSON.stringify([
      {disasm: 'BUG_ldx_91', opcodes: {code: '0x91', src_reg: '0x1', dst_reg: '0x2', off: ['0xa5', '0x00'], imm: ['0x00', '0x00', '0x00', '0x00']}},
      {disasm: '(bf) r3 = r2', opcodes: {code: '0xbf', src_reg: '0x2', dst_reg: '0x3', off: ['0x10', '0x00'], imm: ['0x00', '0x00', '0x00', '0x00']}},
      {disasm: '(bf) r0 = r0', opcodes: {code: '0xbf', src_reg: '0x0', dst_reg: '0x0', off: ['0xff', '0xff'], imm: ['0x00', '0x00', '0x00', '0x00']}},
      {disasm: '(3f) r1 /= r2', opcodes: {code: '0x3f', src_reg: '0x2', dst_reg: '0x1', off: ['0x01', '0x00'], imm: ['0x00', '0x00', '0x00', '0x00']}},
    ])
    const r = parseBpftoolXlatedJson(text)
    expect(r.problems).toEqual([])
    expect(r.facts.map((i) => i.op)).toEqual([
      {kind: 'load', size: 1, signed: true, dst: 2, base: 1, off: 165},
      {kind: 'alu', width: 64, op: 'mov', dst: 3, src: {reg: 2}, signExtendFrom: 16},
      {kind: 'opaque', dst: 0},
      {kind: 'alu', width: 64, op: 'sdiv', dst: 1, src: {reg: 2}},
    ])
  })

  it('text: elision, out-of-order indexes, stray lines and a second program', () => {
    const text = ['   0: (b7) r2 = 4660', '...', '   0: (95) exit', 'hello', '12: sched_cls  name x  tag 0123456789abcdef  gpl', '   0: (95) exit'].join('\n')
    const r = parseBpftoolXlatedText(text)
    expect(r.facts.map((i) => i.disasm)).toEqual(['(b7) r2 = 4660', '(95) exit'])
    expect(r.problems.map((p) => [p.line, p.message])).toEqual([
      [2, 'elided output ("...")'],
      [3, 'instruction index 0 does not follow 0'],
      [4, 'unrecognised line'],
      [5, 'a second program in one dump: only the first is read'],
    ])
  })
})

// ---- the collector, on a fake Source ------------------------------------------------------------------------------

function fakeSource(answer: (argv: readonly string[]) => Partial<RawOutput>): {src: Source; calls: string[][]; maxInFlight: () => number} {
  const calls: string[][] = []
  let inFlight = 0
  let max = 0
  const src: Source = {
    meta: {kind: 'snapshot'},
    run: async (req: RunRequest): Promise<RawOutput> => {
      calls.push([...req.argv])
      inFlight++
      max = Math.max(max, inFlight)
      await new Promise((r) => setTimeout(r, 5))
      inFlight--
      return {argv: [...req.argv], stdout: '', stderr: '', exitCode: 0, durationMs: 5, ...answer(req.argv)}
    },
  }
  return {src, calls, maxInFlight: () => max}
}

const oneProg = (mark: number): string => JSON.stringify([{disasm: `(b7) r2 = ${mark}`}, {disasm: '(63) *(u32 *)(r1 +164) = r2'}, {disasm: '(95) exit'}])
const manyProgs = (ids: number[]): string =>
  JSON.stringify(ids.map((id) => ({id, type: 'sched_cls', name: 'cil_from_container', tag: '0123456789abcdef', gpl_compatible: true, insns: JSON.parse(oneProg(id))})))

describe('collectBpftoolXlated', () => {
  it('one `id` process per program without a shared name, at most `concurrency` at a time', async () => {
    const f = fakeSource((argv) => ({stdout: oneProg(Number(argv[6]))}))
    const raws = await collectBpftoolXlated(f.src, [5, 3, {id: 9, name: 'a'}, {id: 4, name: 'b'}, 3], {concurrency: 2})
    expect(f.calls).toEqual([BPFTOOL_XLATED_ARGV(3), BPFTOOL_XLATED_ARGV(4), BPFTOOL_XLATED_ARGV(5), BPFTOOL_XLATED_ARGV(9)])
    expect(f.maxInFlight()).toBe(2)
    expect(raws.map((r) => r.ids)).toEqual([[3], [4], [5], [9]])
    const dumps = parseBpftoolXlatedDumps(raws)
    expect(dumps.problems).toEqual([])
    expect(dumps.programs.map((p) => [p.id, p.insns[0]!.disasm])).toEqual([
      [3, '(b7) r2 = 3'],
      [4, '(b7) r2 = 4'],
      [5, '(b7) r2 = 5'],
      [9, '(b7) r2 = 9'],
    ])
  })

  it('one `name` process for programs that share a name; unrequested matches are dropped', async () => {
    const f = fakeSource((argv) => (argv[5] === 'name' ? {stdout: manyProgs([10, 11, 12, 99])} : {stdout: oneProg(Number(argv[6]))}))
    const progs = [10, 11, 12].map((id) => ({id, name: 'cil_from_container'}))
    const raws = await collectBpftoolXlated(f.src, [...progs, {id: 7, name: 'other'}])
    expect(f.calls).toEqual([['bpftool', '-j', 'prog', 'dump', 'xlated', 'name', 'cil_from_container'], BPFTOOL_XLATED_ARGV(7)])
    const dumps = parseBpftoolXlatedDumps(raws)
    expect(dumps.programs.map((p) => p.id)).toEqual([7, 10, 11, 12])
    expect(dumps.warnings).toEqual([])
  })

  it('redoes by id what a `name` run did not print (unloaded, renamed, a bare single match, or a failed run)', async () => {
    const byName: Record<string, Partial<RawOutput>> = {
      a: {stdout: manyProgs([1])}, // 2 asked, only 1 printed
      b: {stdout: oneProg(0)}, // bare form: cannot tell whose
      c: {stdout: '{"error":"can\'t get prog by id (31): No such file or directory"}', exitCode: 255, failure: 'exit', message: 'bpftool … name c: exit 255'},
    }
    const f = fakeSource((argv) => (argv[5] === 'name' ? byName[argv[6]!]! : Number(argv[6]) === 31 ? {stdout: '{"error":"get by id (31): No such file or directory"}', exitCode: 255, failure: 'exit', message: 'bpftool -j prog dump xlated id 31: exit 255: get by id (31): No such file or directory'} : {stdout: oneProg(Number(argv[6]))}))
    const progs = [
      {id: 1, name: 'a'},
      {id: 2, name: 'a'},
      {id: 20, name: 'b'},
      {id: 21, name: 'b'},
      {id: 30, name: 'c'},
      {id: 31, name: 'c'},
    ]
    const raws = await collectBpftoolXlated(f.src, progs)
    expect(f.calls.slice(3).map((a) => a.join(' '))).toEqual([2, 20, 21, 30, 31].map((id) => BPFTOOL_XLATED_ARGV(id).join(' ')))
    const dumps = parseBpftoolXlatedDumps(raws)
    expect(dumps.programs.map((p) => p.id)).toEqual([1, 2, 20, 21, 30])
    expect(dumps.warnings).toEqual([{probe: 'bpftool -j prog dump xlated id 31', kind: 'exit', message: 'bpftool -j prog dump xlated id 31: exit 255: get by id (31): No such file or directory'}])
  })
})
