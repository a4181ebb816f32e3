import type {ProgramSummary} from '../../model/program-summary.js'
import {markWriteEffect} from '../../bpf/mark-write-op.js'
import {applyMarkOp, hex, type MarkOp} from '../../model/mark.js'
import type {Conntrack, Tuple} from '../../model/path.js'

/**
 * The packet as the walk carries it: what the kernel keeps in the skb, so each boundary (boundaries.ts) can say
 * what survives it.
 * - `tuple`: the inner headers (the packet a pod or a node sent);
 * - `outer`: the outer headers while it is encapsulated; before that, set by a program, the tunnel key
 *   (bpf_skb_set_tunnel_key: the metadata a collect-metadata device turns into the outer header);
 * - `mark`: skb->mark, with the bits a program left unknown;
 * - `ct`: the conntrack entry attached to the skb (skb->_nfct), which describes the outermost header; absent
 *   until the first conntrack hook of a netns attaches one (a connection's first packet: NEW).
 */
export interface Packet {
  tuple: Tuple
  outer?: Tuple & {vni?: number}
  mark: number
  /** Bits of `mark` whose value is not known (a program stored what the analysis could not follow). */
  markUnknown?: number
  ct?: Conntrack
  /** The 802.1Q VLAN the frame carries, when a bridge with VLAN filtering sent it tagged (kn-23). */
  vlanTag?: number
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
