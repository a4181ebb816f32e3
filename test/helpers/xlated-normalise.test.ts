import {describe, expect, it} from 'vitest'
import {parseBpftoolXlatedText} from '../../src/probes/bpftool-xlated.js'
import {nameSkBuffFields, normaliseXlatedDisasm} from './xlated-normalise.js'

describe('normaliseXlatedDisasm', () => {
  it('drops the helper address, so two builds of one kernel give the same line', () => {
    // testdata/bpf/xlated/redirect.json (kernel -v669) and the same program on kernel -v1147
    expect(normaliseXlatedDisasm('(85) call bpf_redirect#10291712')).toBe('(85) call bpf_redirect')
    expect(normaliseXlatedDisasm('(85) call bpf_redirect#10560128')).toBe('(85) call bpf_redirect')
    expect(normaliseXlatedDisasm('(85) call bpf_get_hash_recalc#10243328')).toBe(normaliseXlatedDisasm('(85) call bpf_get_hash_recalc#10509584'))
    expect(normaliseXlatedDisasm('(85) call bpf_tail_call#12')).toBe('(85) call bpf_tail_call')
    expect(normaliseXlatedDisasm('(85) call __htab_map_lookup_elem#-12345')).toBe('(85) call __htab_map_lookup_elem')
  })

  it('a call bpftool could not name keeps no address', () => {
    expect(normaliseXlatedDisasm('(85) call 0xffffffffc0001234#3333')).toBe('(85) call <address>')
  })

  it('map ids and subprogram tags become placeholders; call offsets, map value offsets and constants stay', () => {
    expect(normaliseXlatedDisasm('(18) r1 = map[id:98]')).toBe('(18) r1 = map[id:N]')
    expect(normaliseXlatedDisasm('(18) r1 = map[id:100][0]+8')).toBe('(18) r1 = map[id:N][0]+8')
    expect(normaliseXlatedDisasm('(85) call pc+2#bpf_prog_7df461bbfae31152_tag_it')).toBe('(85) call pc+2#bpf_prog_<tag>_tag_it')
    expect(normaliseXlatedDisasm('(85) call pc+2#bpf_prog_7df461bbfae31152_tag_it')).not.toBe(normaliseXlatedDisasm('(85) call pc+3#bpf_prog_7df461bbfae31152_tag_it'))
    for (const same of ['(18) r2 = 0xffff00ff', '(15) if r0 == 0x0 goto pc+2', '(63) *(u32 *)(r6 +164) = r1', '(b7) r1 = 10291712', '(95) exit']) {
      expect(normaliseXlatedDisasm(same)).toBe(same)
    }
  })
})

describe('nameSkBuffFields', () => {
  const dump = (mark: number, priority: number) => {
    const lines = [
      '(bf) r6 = r1',
      `(61) r2 = *(u32 *)(r6 +${mark})`,
      '(47) r2 |= 16384',
      `(63) *(u32 *)(r6 +${mark}) = r2`,
      `(73) *(u8 *)(r6 +${mark + 1}) = r2`,
      `(b7) r3 = 7`,
      `(63) *(u32 *)(r6 +${priority}) = r3`,
      '(18) r1 = map[id:5][0]+0',
      '(63) *(u32 *)(r1 +164) = r3', // a map value at the same offset as the mark: not the ctx
      '(95) exit',
    ]
    let pc = 0
    const text = lines.map((l) => {
      const out = `${String(pc).padStart(4)}: ${l}`
      pc += l.startsWith('(18)') ? 2 : 1 // a 64-bit immediate load takes two slots
      return out
    })
    const parsed = parseBpftoolXlatedText(text.join('\n'))
    expect(parsed.problems).toEqual([])
    return parsed.facts
  }

  it('names the ctx accesses by field and keeps the map value store at the same offset', () => {
    expect(nameSkBuffFields(dump(164, 140), {mark: {offsetBytes: 164, sizeBits: 32}, priority: {offsetBytes: 140, sizeBits: 32}, tc_index: {offsetBytes: 132, sizeBits: 16}})).toEqual([
      '(bf) r6 = r1',
      '(61) r2 = *(u32 *)(r6 +skb.mark)',
      '(47) r2 |= 16384',
      '(63) *(u32 *)(r6 +skb.mark) = r2',
      '(73) *(u8 *)(r6 +skb.mark+1) = r2',
      '(b7) r3 = 7',
      '(63) *(u32 *)(r6 +skb.priority) = r3',
      '(18) r1 = map[id:5][0]+0',
      '(63) *(u32 *)(r1 +164) = r3',
      '(95) exit',
    ])
  })

  it('the same program on a kernel whose sk_buff is laid out otherwise reads the same', () => {
    const here = nameSkBuffFields(dump(164, 140), {mark: {offsetBytes: 164, sizeBits: 32}, priority: {offsetBytes: 140, sizeBits: 32}})
    const there = nameSkBuffFields(dump(172, 144), {mark: {offsetBytes: 172, sizeBits: 32}, priority: {offsetBytes: 144, sizeBits: 32}})
    expect(there).toEqual(here)
    // and a wrong layout does not hide the difference
    expect(nameSkBuffFields(dump(172, 144), {mark: {offsetBytes: 164, sizeBits: 32}, priority: {offsetBytes: 140, sizeBits: 32}})).not.toEqual(here)
  })
})
