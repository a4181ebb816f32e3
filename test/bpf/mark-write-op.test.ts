import {describe, expect, it} from 'vitest'
import {markWriteEffect} from '../../src/bpf/mark-write-op.js'
import type {MarkWrite} from '../../src/model/program-summary.js'
import {applyMarkOp} from '../../src/model/mark.js'

const write = (w: Pick<MarkWrite, 'op' | 'value' | 'mask' | 'unknownBits'>): MarkWrite => ({pc: 3, disasm: '(63) *(u32 *)(r1 +164) = r2', evidence: 'program', expr: '', ...w})
const markAfter = (w: MarkWrite, mark: number) => applyMarkOp(markWriteEffect(w).op, {packet: mark, conntrack: 0}).packet >>> 0

describe('markWriteEffect: one translation of a program store to skb->mark', () => {
  it('constant writes become the mark operations they are, with no unknown bits', () => {
    expect(markAfter(write({op: 'set', value: 0x1234, mask: 0xffffffff, unknownBits: 0}), 0xff)).toBe(0x1234)
    expect(markAfter(write({op: 'or', value: 0x4000, mask: 0x4000, unknownBits: 0}), 0x1)).toBe(0x4001)
    expect(markAfter(write({op: 'and', value: 0xffff00ff, mask: 0xff00, unknownBits: 0}), 0x1234)).toBe(0x34)
    expect(markAfter(write({op: 'xor', value: 0x3, mask: 0x3, unknownBits: 0}), 0x1)).toBe(0x2)
    expect(markAfter(write({op: 'set-masked', value: 0x200, mask: 0xf00, unknownBits: 0}), 0xc01)).toBe(0x201)
    expect(markAfter(write({op: 'set-xmark', value: 0x300, mask: 0x200, unknownBits: 0}), 0x100)).toBe(0x200)
    expect(markWriteEffect(write({op: 'set', value: 1, mask: 0xffffffff, unknownBits: 0})).unknownBits).toBe(0)
  })

  it('an unknown write is never "no change": every bit it may change is written, and its unknown bits are returned', () => {
    // skb->mark = r2 with r2 unknown: every bit clobbered, none known.
    const all = markWriteEffect(write({op: 'unknown', value: 0, mask: 0xffffffff, unknownBits: 0xffffffff}))
    expect(all).toEqual({op: {kind: 'set-mark', target: 'packet', value: 0, mask: 0xffffffff}, unknownBits: 0xffffffff})
    // mark = (mark & 0xffff0000) | unknown low half with bit 0x8000 forced on
    const half = markWriteEffect(write({op: 'unknown', value: 0x8000, mask: 0xffff, unknownBits: 0x7fff}))
    expect(half.unknownBits).toBe(0x7fff)
    expect(applyMarkOp(half.op, {packet: 0x12340001, conntrack: 0}).packet >>> 0).toBe(0x12348000)
  })
})
