import type {ProgramSummary} from '../../model/program-summary.js'
import {markWriteEffect} from '../../bpf/mark-write-op.js'
import {applyMarkOp, hex, type MarkOp} from '../../model/mark.js'
import type {Tuple} from '../../model/path.js'

/** What conntrack knows of the connection (NAT bound, untracked), carried from hook to hook on one node. */
export interface ConntrackState {
  dnat?: boolean
  snat?: boolean
  untracked?: boolean
}

/** The packet as the walk carries it: inner tuple, outer header while tunnelled, marks. */
export interface Packet {
  tuple: Tuple
  outer?: Tuple & {vni?: number}
  mark: number
  /** Bits of `mark` whose value is not known (a program stored what the analysis could not follow). */
  markUnknown?: number
  ctmark: number
  ct?: ConntrackState
}

/** The bits an operation sets to a constant, whatever the mark was: those become known again. */
function bitsMadeKnown(op: MarkOp): number {
  switch (op.kind) {
    case 'set':
      return 0xffffffff
    case 'set-mark':
    case 'set-xmark':
      return op.mask >>> 0
    case 'or':
      return op.value >>> 0
    case 'and':
      return ~op.value >>> 0
    default:
      return 0
  }
}

/**
 * Apply the mark writes a program's code shows, in instruction order (evidence: its instructions). A write the
 * analysis could not follow applies its known bits and leaves the others unknown, said so, never "unchanged".
 */
export function applyProgramMarks(code: ProgramSummary, pkt: Packet, details: string[]): void {
  for (const w of code.writes) {
    const {op, unknownBits} = markWriteEffect(w)
    const before = pkt.mark
    pkt.mark = applyMarkOp(op, {packet: pkt.mark, conntrack: 0}).packet >>> 0
    const unknown = (((pkt.markUnknown ?? 0) & ~bitsMadeKnown(op)) | unknownBits) >>> 0
    if (unknown) pkt.markUnknown = unknown
    else delete pkt.markUnknown
    if (unknownBits) details.push(`writes skb->mark with a value the analysis could not follow (${w.expr}, insn ${w.pc}): bits ${hex(unknownBits)} unknown after it (shown as 0)`)
    else details.push(`skb->mark ${w.expr} (insn ${w.pc}): ${hex(before)} → ${hex(pkt.mark)}`)
  }
}
