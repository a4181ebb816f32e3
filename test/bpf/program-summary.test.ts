import {mkdtempSync, readFileSync, rmSync, unlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {helperFamily} from '../../src/bpf/helpers.js'
import {summariseProgram} from '../../src/bpf/interpreter.js'
import type {ProgramSummary} from '../../src/model/program-summary.js'
import {readSkBuffLayout} from '../../src/probes/btf-sk-buff.js'
import {collectBpftoolXlated, parseBpftoolXlatedDumps, parseBpftoolXlatedJson, parseBpftoolXlatedText} from '../../src/probes/bpftool-xlated.js'
import type {XlatedInsn} from '../../src/model/xlated.js'
import {liveSource} from '../../src/state/sources.js'
import type {RunRequest, Source} from '../../src/source/types.js'
import {bpfLoadSkipReason, mountTestBpffs, mustRun, type TestBpffs} from '../helpers/bpffs.js'
import {ROOT, testdata} from '../helpers/fixtures.js'
import {nameSkBuffFields, normaliseXlatedDisasm} from '../helpers/xlated-normalise.js'

/** The kernel testdata/bpf/xlated was captured on (testdata/bpf/README.md) and its sk_buff layout (docs/kernel-notes.md#kn-4-xlated-mark-offset). */
const CAPTURED_ON = {
  version: '6.18',
  skBuff: {mark: {offsetBytes: 164, sizeBits: 32}, priority: {offsetBytes: 140, sizeBits: 32}, hash: {offsetBytes: 148, sizeBits: 32}, len: {offsetBytes: 112, sizeBits: 32}},
}
/** offsetof(struct sk_buff, mark) in the hand-written dumps and the captures (the live tests read it from BTF). */
const MARK = CAPTURED_ON.skBuff.mark.offsetBytes
const FULL = 0xffffffff
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`

/** A hand-written xlated dump in bpftool's plain form: numbers the slots (a `(18)` load takes two). */
function xl(...lines: string[]): XlatedInsn[] {
  let pc = 0
  const text = lines.map((l) => {
    const out = `${String(pc).padStart(4)}: ${l}`
    pc += l.startsWith('(18)') ? 2 : 1
    return out
  })
  const parsed = parseBpftoolXlatedText(text.join('\n'))
  expect(parsed.problems).toEqual([])
  return parsed.facts
}

const analyse = (insns: readonly XlatedInsn[]): ProgramSummary => summariseProgram(insns, {markOffset: MARK})
const writes = (r: ProgramSummary): string[] => r.writes.map((w) => `${w.pc}: ${w.op} ${hex(w.value)}/${hex(w.mask)}${w.unknownBits ? ` unknown ${hex(w.unknownBits)}` : ''}`)
const matches = (r: ProgramSummary): string[] =>
  r.matches.map((m) => `${m.pc}: ${m.kind} ${hex(m.value)}/${hex(m.mask)}${m.negated ? ' negated' : ''}${m.satisfiable ? '' : ' never'}`)

describe('summariseProgram: mark writes', () => {
  it('a whole-mark set, with its evidence', () => {
    const r = analyse(xl('(b7) r2 = 4660', '(63) *(u32 *)(r1 +164) = r2', '(b7) r0 = 0', '(95) exit'))
    expect(r).toEqual({
      markOffset: 164,
      loads: [],
      writes: [{pc: 1, disasm: '(63) *(u32 *)(r1 +164) = r2', evidence: 'program', op: 'set', value: 0x1234, mask: FULL, unknownBits: 0, expr: 'mark = 0x1234'}],
      matches: [],
      helperCalls: [],
      helpers: [],
      families: [],
      subprogramCalls: [],
      mapIds: [],
      uncertain: [],
      notes: [],
    })
  })

  it('OR, with the load and a masked compare (or_mark.c as xlated)', () => {
    const r = analyse(
      xl(
        '(61) r2 = *(u32 *)(r1 +164)',
        '(bf) r3 = r2',
        '(47) r3 |= 16384',
        '(63) *(u32 *)(r1 +164) = r3',
        '(57) r2 &= 3840',
        '(55) if r2 != 0x200 goto pc+2',
        '(b7) r2 = 7',
        '(63) *(u32 *)(r1 +140) = r2',
        '(b7) r0 = 0',
        '(95) exit',
      ),
    )
    expect(r.loads.map((l) => [l.pc, l.reg, hex(l.bits)])).toEqual([[0, 2, '0xffffffff']])
    expect(writes(r)).toEqual(['3: or 0x4000/0x4000'])
    expect(r.writes[0]!.expr).toBe('mark |= 0x4000')
    expect(matches(r)).toEqual(['5: match 0x200/0xf00 negated'])
  })

  it('AND-clear with a sign-extended immediate', () => {
    const r = analyse(xl('(61) r2 = *(u32 *)(r1 +164)', '(57) r2 &= -16385', '(63) *(u32 *)(r1 +164) = r2', '(95) exit'))
    expect(writes(r)).toEqual(['2: and 0xffffbfff/0x4000'])
    expect(r.writes[0]!.expr).toBe('mark &= 0xffffbfff')
  })

  it('set-xmark style (mark & ~M) | V through a ctx copy, and the nft form (mark & ~M) ^ V', () => {
    const r = analyse(
      xl(
        '(bf) r6 = r1',
        '(61) r1 = *(u32 *)(r6 +164)',
        '(18) r2 = 0xffff00ff',
        '(5f) r1 &= r2',
        '(47) r1 |= 4608',
        '(63) *(u32 *)(r6 +164) = r1',
        '(61) r1 = *(u32 *)(r6 +164)',
        '(18) r2 = 0xffff0000',
        '(5f) r1 &= r2',
        '(a7) r1 ^= 4660',
        '(63) *(u32 *)(r6 +164) = r1',
        '(95) exit',
      ),
    )
    expect(writes(r)).toEqual(['6: set-masked 0x1200/0xff00', '12: set-masked 0x1234/0xffff'])
    expect(r.writes[0]!.expr).toBe('mark = (mark & ~0xff00) | 0x1200')
  })

  it('XOR alone, and XOR combined with a constant (set-xmark)', () => {
    const r = analyse(
      xl(
        '(61) r2 = *(u32 *)(r1 +164)',
        '(a7) r2 ^= 16',
        '(63) *(u32 *)(r1 +164) = r2',
        '(47) r2 |= 1',
        '(63) *(u32 *)(r1 +164) = r2',
        '(95) exit',
      ),
    )
    expect(writes(r)).toEqual(['2: xor 0x10/0x10', '4: set-xmark 0x11/0x1'])
  })

  it('32-bit w sub-register forms (clang -mcpu=v3)', () => {
    const r = analyse(
      xl(
        '(61) r2 = *(u32 *)(r1 +164)',
        '(bc) w3 = w2',
        '(54) w3 &= -3841',
        '(44) w3 |= 512',
        '(63) *(u32 *)(r1 +164) = r3',
        '(56) if w2 != 0xd00 goto pc+1',
        '(b4) w0 = 1',
        '(95) exit',
      ),
    )
    expect(writes(r)).toEqual(['4: set-masked 0x200/0xf00'])
    expect(matches(r)).toEqual(['5: match 0xd00/0xffffffff negated'])
  })

  it('ctx copied to r6 survives a helper call; r1 does not; a helper result is an unknown value', () => {
    const r = analyse(
      xl(
        '(bf) r6 = r1',
        '(85) call bpf_get_hash_recalc#10243328',
        '(b7) r2 = 512',
        '(63) *(u32 *)(r6 +164) = r2',
        '(63) *(u32 *)(r1 +164) = r2', // r1 was clobbered by the call: not the ctx any more
        '(18) r1 = 0xffffbfff',
        '(5f) r0 &= r1',
        '(bf) r1 = r6',
        '(63) *(u32 *)(r1 +164) = r0',
        '(95) exit',
      ),
    )
    expect(writes(r)).toEqual(['3: set 0x200/0xffffffff', '9: unknown 0x0/0xffffffff unknown 0xffffbfff'])
    expect(r.writes[1]!.expr).toBe('mark = <computed>: bits 0xffffbfff not known, 0x4000 cleared')
    expect(r.uncertain).toEqual([])
  })

  it('ctx spilled to the stack and filled back across a call', () => {
    const r = analyse(
      xl(
        '(7b) *(u64 *)(r10 -8) = r1',
        '(85) call bpf_ktime_get_ns#1234',
        '(79) r3 = *(u64 *)(r10 -8)',
        '(61) r2 = *(u32 *)(r3 +164)',
        '(47) r2 |= 1',
        '(63) *(u32 *)(r3 +164) = r2',
        '(95) exit',
      ),
    )
    expect(r.loads.map((l) => l.pc)).toEqual([3])
    expect(writes(r)).toEqual(['5: or 0x1/0x1'])
  })

  it('stores at +164 through a map value, a global and the stack are not mark writes', () => {
    const r = analyse(
      xl(
        '(bf) r6 = r1',
        '(b7) r1 = 0',
        '(63) *(u32 *)(r10 -4) = r1',
        '(bf) r2 = r10',
        '(07) r2 += -4',
        '(18) r1 = map[id:25]',
        '(85) call __htab_map_lookup_elem#99',
        '(15) if r0 == 0x0 goto pc+2',
        '(b7) r1 = 39321',
        '(63) *(u32 *)(r0 +164) = r1',
        '(18) r1 = map[id:26][0]+0',
        '(63) *(u32 *)(r1 +164) = r1',
        '(bf) r2 = r10',
        '(07) r2 += -200',
        '(62) *(u32 *)(r2 +164) = 7',
        '(79) r3 = *(u64 *)(r0 +0)',
        '(63) *(u32 *)(r3 +164) = r1',
        '(b7) r0 = 0',
        '(95) exit',
      ),
    )
    expect(r.writes).toEqual([])
    expect(r.uncertain).toEqual([])
    expect(r.mapIds).toEqual([25, 26])
    expect(r.helperCalls.map((h) => [h.helper, h.symbol, h.family, h.mapId])).toEqual([['bpf_map_lookup_elem', '__htab_map_lookup_elem', 'map', 25]])
  })

  it('a narrow store is exact about the bytes it covers', () => {
    const r = analyse(xl('(b7) r2 = 18', '(73) *(u8 *)(r1 +165) = r2', '(69) r3 = *(u16 *)(r1 +166)', '(95) exit'))
    expect(writes(r)).toEqual(['1: set-masked 0x1200/0xff00'])
    expect(r.loads.map((l) => hex(l.bits))).toEqual(['0xffff0000'])
  })

  it('branches joined: a bit set on one path only is reported as not known', () => {
    const r = analyse(xl('(61) r2 = *(u32 *)(r1 +164)', '(55) if r2 != 0x0 goto pc+1', '(47) r2 |= 16384', '(63) *(u32 *)(r1 +164) = r2', '(95) exit'))
    expect(writes(r)).toEqual(['3: unknown 0x0/0x4000 unknown 0x4000'])
    expect(r.writes[0]!.expr).toBe('mark = <computed>: bits 0x4000 not known, 0xffffbfff kept')
    expect(matches(r)).toEqual(['1: match 0x0/0xffffffff negated'])
  })

  it('a bounded loop reaches a fixpoint', () => {
    const r = analyse(
      xl(
        '(61) r2 = *(u32 *)(r1 +164)',
        '(b7) r3 = 0',
        '(07) r3 += 1',
        '(47) r2 |= 1',
        '(a5) if r3 < 0x4 goto pc-3',
        '(63) *(u32 *)(r1 +164) = r2',
        '(95) exit',
      ),
    )
    expect(writes(r)).toEqual(['5: or 0x1/0x1'])
    expect(r.notes).toEqual([])
  })
})

describe('summariseProgram: compares', () => {
  it('bit tests, shifted fields, the zero-extension idiom, impossible and ordered compares', () => {
    const r = analyse(
      xl(
        '(61) r2 = *(u32 *)(r1 +164)',
        '(45) if r2 & 0x4000 goto pc+0',
        '(45) if r2 & 0x4100 goto pc+0',
        '(bf) r3 = r2',
        '(77) r3 >>= 8',
        '(57) r3 &= 15',
        '(15) if r3 == 0x2 goto pc+0',
        '(bf) r4 = r2',
        '(67) r4 <<= 32',
        '(77) r4 >>= 32',
        '(15) if r4 == 0xd00 goto pc+0',
        '(bf) r5 = r2',
        '(47) r5 |= 256',
        '(15) if r5 == 0x0 goto pc+0',
        '(15) if r2 == 0xffffff00 goto pc+0', // 64-bit compare with a sign-extended immediate: never equal to a u32
        '(16) if w2 == 0xffffff00 goto pc+0',
        '(25) if r2 > 0x10 goto pc+0',
        '(bf) r6 = r2',
        '(85) call bpf_get_prandom_u32#77',
        '(5d) if r6 != r0 goto pc+0',
        '(b7) r7 = 512',
        '(5d) if r7 != r6 goto pc+0', // constant on the left: mirrored
        '(95) exit',
      ),
    )
    expect(matches(r)).toEqual([
      '1: match 0x4000/0x4000',
      '2: any-set 0x0/0x4100',
      '6: match 0x200/0xf00',
      '10: match 0xd00/0xffffffff',
      '13: match 0x0/0xfffffeff never',
      '14: match 0xffffff00/0xffffffff never',
      '15: match 0xffffff00/0xffffffff',
      '16: ordered 0x10/0xffffffff',
      '19: unknown 0x0/0xffffffff negated',
      '21: match 0x200/0xffffffff negated',
    ])
    expect(r.matches.find((m) => m.pc === 16)!.op).toBe('>')
  })
})

describe('summariseProgram: helpers, maps, subprograms', () => {
  it('redirect family, tail calls with map and index, other families, unresolved names', () => {
    const r = analyse(
      xl(
        '(bf) r6 = r1',
        '(b7) r1 = 2',
        '(b7) r2 = 0',
        '(85) call bpf_redirect#10291712',
        '(bf) r1 = r6',
        '(18) r2 = map[id:42]',
        '(b7) r3 = 1',
        '(85) call bpf_tail_call#12',
        '(18) r1 = map[id:43]',
        '(b7) r2 = 5',
        '(b7) r3 = 0',
        '(85) call dev_map_redirect#4444',
        '(85) call bpf_skb_fib_lookup#5555',
        '(85) call bpf_skb_set_tunnel_key#6666',
        '(85) call bpf_redirect_peer#7777',
        '(85) call bpf_redirect_neigh#8888',
        '(85) call bpf_clone_redirect#9999',
        '(85) call bpf_skb_store_bytes#1111',
        '(85) call bpf_sk_assign#2222',
        '(85) call 0xffffffffc0001234#3333',
        '(95) exit',
      ),
    )
    expect(r.helperCalls.map((h) => [h.pc, h.helper, h.family])).toEqual([
      [3, 'bpf_redirect', 'redirect'],
      [8, 'bpf_tail_call', 'tail-call'],
      [13, 'bpf_redirect_map', 'redirect'],
      [14, 'bpf_fib_lookup', 'fib'],
      [15, 'bpf_skb_set_tunnel_key', 'tunnel'],
      [16, 'bpf_redirect_peer', 'redirect'],
      [17, 'bpf_redirect_neigh', 'redirect'],
      [18, 'bpf_clone_redirect', 'redirect'],
      [19, 'bpf_skb_store_bytes', 'packet'],
      [20, 'bpf_sk_assign', 'socket'],
      [21, '0xffffffffc0001234', 'other'],
    ])
    expect(r.helperCalls[0]!.args).toEqual([2, 0, null, null, null])
    expect(r.helperCalls[1]).toMatchObject({mapId: 42, args: [null, null, 1, null, null]})
    expect(r.helperCalls[2]).toMatchObject({mapId: 43, args: [null, 5, 0, null, null]})
    expect(r.families).toEqual(['fib', 'other', 'packet', 'redirect', 'socket', 'tail-call', 'tunnel'])
    expect(r.mapIds).toEqual([42, 43])
    expect(r.notes).toEqual(['pc 21: helper "0xffffffffc0001234" not resolved to a name (bpftool had no kallsyms for it)'])
    expect(helperFamily('bpf_msg_redirect_hash')).toBe('redirect')
  })

  it('a bpf-to-bpf callee given the ctx writes the mark; one given a map pointer does not', () => {
    const r = analyse(
      xl(
        '(85) call pc+4', // → pc 5, r1 = ctx
        '(18) r1 = map[id:9][0]+0',
        '(85) call pc+5', // → pc 9, r1 = a map value
        '(95) exit',
        '(61) r2 = *(u32 *)(r1 +164)',
        '(47) r2 |= 256',
        '(63) *(u32 *)(r1 +164) = r2',
        '(95) exit',
        '(b7) r2 = 1',
        '(63) *(u32 *)(r1 +164) = r2',
        '(95) exit',
      ),
    )
    expect(r.subprogramCalls.map((c) => [c.pc, c.target])).toEqual([
      [0, 5],
      [3, 9],
    ])
    expect(writes(r)).toEqual(['7: or 0x100/0x100'])
    expect(r.uncertain).toEqual([])
    expect(r.notes).toEqual([])
  })

  it('a callee reached with the ctx from one site and something else from another: uncertain', () => {
    const r = analyse(xl('(85) call pc+4', '(18) r1 = map[id:9][0]+0', '(85) call pc+1', '(95) exit', '(b7) r2 = 1', '(63) *(u32 *)(r1 +164) = r2', '(95) exit'))
    expect(r.writes).toEqual([])
    expect(r.uncertain.map((u) => [u.pc, u.access, u.reason])).toEqual([[6, 'store', 'r1 may hold the ctx pointer (the analysis lost track of it)']])
  })
})

describe('summariseProgram: honest when it loses track', () => {
  it('a register that is the ctx on one path and a map value on another', () => {
    const r = analyse(xl('(bf) r6 = r1', '(15) if r2 == 0x0 goto pc+2', '(18) r6 = map[id:7][0]+0', '(b7) r3 = 1', '(63) *(u32 *)(r6 +164) = r3', '(95) exit'))
    expect(r.writes).toEqual([])
    expect(r.uncertain.map((u) => [u.pc, u.access])).toEqual([[5, 'store']])
  })

  it('an undecoded instruction makes every register unknown and says so', () => {
    const p = parseBpftoolXlatedText(['   0: BUG_ldx_91', '   1: (b7) r2 = 1', '   2: (63) *(u32 *)(r1 +164) = r2', '   3: (95) exit'].join('\n'))
    expect(p.problems.map((x) => x.message)).toEqual(['pc 0: instruction not decoded'])
    const r = analyse(p.facts)
    expect(r.writes).toEqual([])
    expect(r.uncertain.map((u) => u.pc)).toEqual([2])
    expect(r.notes).toEqual(['pc 0: "BUG_ldx_91" not decoded: registers it may change are now unknown'])
  })

  it('unreachable code, indirect jumps, jumps out of the dump, callbacks', () => {
    const r = analyse(
      xl(
        '(bf) r6 = r1',
        '(b7) r1 = 4',
        '(18) r2 = subprog[+5]',
        '(b7) r3 = 0',
        '(85) call bpf_loop#555',
        '(15) if r0 == 0x1 goto pc+40',
        '(e0) gotox r0',
        '(63) *(u32 *)(r2 +164) = r1', // callback entry (pc 8): r2 may be anything, the ctx included
        '(95) exit',
        '(63) *(u32 *)(r6 +164) = r1', // after the indirect jump: never reached
        '(95) exit',
      ),
    )
    expect(r.writes).toEqual([])
    expect(r.uncertain.map((u) => [u.pc, u.reason])).toEqual([
      [8, 'r2 may hold the ctx pointer (the analysis lost track of it)'],
      [10, 'not reached by the analysis (dead code or a function nothing calls)'],
    ])
    expect(r.notes).toEqual([
      'pc 6 ((15) if r0 == 0x1 goto pc+40) goes to pc 47, which is not an instruction of the dump: not followed',
      'pc 7: indirect jump "(e0) gotox r0": its targets are not followed',
      '2 instruction(s) not reached from the entry: not analysed',
    ])
  })

  it('no instructions: an empty report', () => {
    expect(analyse([])).toMatchObject({writes: [], loads: [], matches: [], helperCalls: [], notes: []})
  })
})

// ---- the test programs: captured dumps (always) and the same programs loaded live (as root) -----------------------

interface Expect {
  writes: string[]
  loads: number
  matches: string[]
  helpers: string[]
  subprogramCalls: number
  mapIds: number
}

const PROGRAMS: Record<string, Expect> = {
  set_mark: {writes: ['set 0x1234/0xffffffff'], loads: 0, matches: [], helpers: [], subprogramCalls: 0, mapIds: 0},
  or_mark: {writes: ['or 0x4000/0x4000'], loads: 1, matches: ['match 0x200/0xf00 negated'], helpers: [], subprogramCalls: 0, mapIds: 0},
  or_mark_v3: {writes: ['or 0x4000/0x4000'], loads: 1, matches: ['match 0x200/0xf00 negated'], helpers: [], subprogramCalls: 0, mapIds: 0},
  // the array lookup is inlined by the verifier (no call); stores into the map value and the global are not the mark
  xmark: {writes: ['set-masked 0x1200/0xff00', 'and 0xffff7fff/0x8000'], loads: 2, matches: [], helpers: [], subprogramCalls: 0, mapIds: 2},
  redirect: {writes: ['set 0x200/0xffffffff'], loads: 0, matches: [], helpers: ['bpf_get_hash_recalc', 'bpf_redirect'], subprogramCalls: 0, mapIds: 0},
  tail_call: {writes: [], loads: 1, matches: ['match 0xd00/0xffffffff'], helpers: ['bpf_tail_call'], subprogramCalls: 0, mapIds: 1},
  subprog: {writes: ['or 0x100/0x100'], loads: 2, matches: ['match 0x0/0x4 negated'], helpers: [], subprogramCalls: 1, mapIds: 0},
}

function summary(r: ProgramSummary): Expect & {uncertain: number; notes: string[]} {
  return {
    writes: r.writes.map((w) => `${w.op} ${hex(w.value)}/${hex(w.mask)}`),
    loads: r.loads.length,
    matches: r.matches.map((m) => `${m.kind} ${hex(m.value)}/${hex(m.mask)}${m.negated ? ' negated' : ''}`),
    helpers: r.helpers,
    subprogramCalls: r.subprogramCalls.length,
    mapIds: r.mapIds.length,
    uncertain: r.uncertain.length,
    notes: r.notes,
  }
}

function checkProgram(name: string, r: ProgramSummary): void {
  expect(summary(r), name).toEqual({...PROGRAMS[name]!, uncertain: 0, notes: []})
  if (name === 'redirect') expect(r.helperCalls.find((h) => h.helper === 'bpf_redirect')!.args.slice(0, 2)).toEqual([2, 0])
  if (name === 'tail_call') expect(r.helperCalls[0]).toMatchObject({family: 'tail-call', mapId: r.mapIds[0], args: [null, null, 1, null, null]})
  for (const w of r.writes) expect(w.evidence).toBe('program')
}

describe('the test programs as captured on kernel 6.18 (testdata/bpf/xlated)', () => {
  for (const name of Object.keys(PROGRAMS)) {
    it(name, () => {
      const p = parseBpftoolXlatedJson(testdata(`bpf/xlated/${name}.json`))
      expect(p.problems).toEqual([])
      checkProgram(name, analyse(p.facts))
    })
  }
})

// ---- live: compile, load into a private bpffs, dump through the collector, analyse --------------------------------

const liveSkipReason = bpfLoadSkipReason

const SKIP = liveSkipReason()
if (SKIP) console.log(`program summary live tests skipped: ${SKIP}`)

/** Objects to build: or_mark twice (cpu v1 and v3); set_mark loaded twice so two programs share a name. */
const LIVE = [
  {pin: 'set_mark', src: 'set_mark', cflags: [] as string[]},
  {pin: 'set_mark_2', src: 'set_mark', cflags: []},
  {pin: 'or_mark', src: 'or_mark', cflags: []},
  {pin: 'or_mark_v3', src: 'or_mark', cflags: ['-mcpu=v3']},
  {pin: 'xmark', src: 'xmark', cflags: []},
  {pin: 'redirect', src: 'redirect', cflags: []},
  {pin: 'tail_call', src: 'tail_call', cflags: []},
  {pin: 'subprog', src: 'subprog', cflags: []},
]

describe.skipIf(SKIP !== '')(`live programs (${SKIP || 'root, clang, bpftool'})`, () => {
  let bpffs = ''
  let fs: TestBpffs | undefined
  let objDir = ''
  const loaded = new Map<string, {id: number; name: string; mapIds: number[]}>()
  const run = mustRun

  beforeAll(async () => {
    fs = await mountTestBpffs()
    bpffs = fs.path
    objDir = mkdtempSync(join(tmpdir(), 'nodeinspect-bpf-'))
    // Two clang processes at a time: the machine has 2 cores and other tests run beside this one.
    const queue = [...LIVE]
    const compile = async (): Promise<void> => {
      for (let spec = queue.shift(); spec; spec = queue.shift()) {
        if (spec.pin === 'set_mark_2') continue
        await run(['clang', '-O2', '-g', '-Wall', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', ...spec.cflags, '-c', join(ROOT, 'testdata/bpf', `${spec.src}.c`), '-o', join(objDir, `${spec.pin}.o`)])
      }
    }
    await Promise.all([compile(), compile()])
    for (const spec of LIVE) {
      const obj = join(objDir, `${spec.pin === 'set_mark_2' ? 'set_mark' : spec.pin}.o`)
      await run(['bpftool', 'prog', 'load', obj, `${bpffs}/${spec.pin}`, 'type', 'classifier'])
      const info = JSON.parse((await run(['bpftool', '-j', 'prog', 'show', 'pinned', `${bpffs}/${spec.pin}`])).stdout) as {id: number; name: string; map_ids?: number[]}
      loaded.set(spec.pin, {id: info.id, name: info.name, mapIds: info.map_ids ?? []})
    }
  })

  afterAll(async () => {
    // Always runs, also when beforeAll failed half-way: unpin (frees the programs), unmount, remove.
    for (const spec of LIVE) {
      try {
        unlinkSync(`${bpffs}/${spec.pin}`)
      } catch {
        /* not pinned */
      }
    }
    await fs?.unmount()
    if (objDir) rmSync(objDir, {recursive: true, force: true})
  })

  it('markOffset from BTF, dumps through the collector with the fewest processes, the expected findings', async () => {
    const layout = await readSkBuffLayout()
    expect(layout.problems).toEqual([])
    const markOffset = layout.facts.mark!.offsetBytes

    const live = liveSource()
    const argvs: string[] = []
    const counting: Source = {meta: live.meta, run: (req: RunRequest) => (argvs.push(req.argv.join(' ')), live.run(req))}
    const progs = [...loaded.values()].map(({id, name}) => ({id, name}))
    const raws = await collectBpftoolXlated(counting, progs)
    // Programs sharing a name (two nit_set_mark, and or_mark built twice) come from one `name` run each.
    const ids = ['xmark', 'redirect', 'tail_call', 'subprog'].map((pin) => loaded.get(pin)!.id).sort((a, b) => a - b)
    expect(argvs).toEqual([
      'bpftool -j prog dump xlated name nit_or_mark',
      'bpftool -j prog dump xlated name nit_set_mark',
      ...ids.map((id) => `bpftool -j prog dump xlated id ${id}`),
    ])

    const dumps = parseBpftoolXlatedDumps(raws)
    expect(dumps.warnings).toEqual([])
    expect(dumps.problems).toEqual([])
    for (const [pin, prog] of loaded) {
      const insns = dumps.programs.find((p) => p.id === prog.id)?.insns
      expect(insns, pin).toBeDefined()
      const r = summariseProgram(insns!, {markOffset})
      checkProgram(pin === 'set_mark_2' ? 'set_mark' : pin, r)
      expect(r.mapIds, pin).toEqual([...prog.mapIds].sort((a, b) => a - b))
    }
  })

  it('the captured dumps still match what this kernel produces (build-dependent parts aside)', async (ctx) => {
    // The captures are of one kernel version; another version's verifier may rewrite the same program otherwise
    // (inlined helpers, other fixups), which says nothing about the analysis: the test above covers that one.
    const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
    if (!release.startsWith(`${CAPTURED_ON.version}.`)) ctx.skip(`the captures are of kernel ${CAPTURED_ON.version} (testdata/bpf/README.md), this is ${release}`)
    // Any build of that version: helper addresses, ids and tags normalised, sk_buff offsets named from each
    // kernel's own layout (the capture's, and this kernel's BTF).
    const layout = await readSkBuffLayout()
    expect(layout.problems).toEqual([])
    const stable = (insns: readonly XlatedInsn[], skb: Parameters<typeof nameSkBuffFields>[1]): string[] => nameSkBuffFields(insns, skb).map(normaliseXlatedDisasm)
    for (const [pin, prog] of loaded) {
      if (pin === 'set_mark_2') continue
      const out = await run(['bpftool', '-j', 'prog', 'dump', 'xlated', 'id', String(prog.id)])
      const now = stable(parseBpftoolXlatedJson(out.stdout).facts, layout.facts)
      const then = stable(parseBpftoolXlatedJson(testdata(`bpf/xlated/${pin}.json`)).facts, CAPTURED_ON.skBuff)
      expect(now, pin).toEqual(then)
      expect(now.some((l) => l.includes('+skb.mark')), pin).toBe(true)
    }
  })
})
