/**
 * A program summary: what an eBPF program's code does, read from its xlated instructions — every store to
 * skb->mark (as a mark operation), every load, every comparison of mark bits with a constant, the helpers it calls
 * (redirects, tail calls…) and the maps it references. `summariseProgram` (src/bpf/interpreter.ts) computes it.
 *
 * Everything here is inferred from instructions (`evidence: 'program'`): where the interpretation loses track it
 * says so (op 'unknown', unknownBits, `uncertain`, `notes`) instead of guessing.
 */
import type {JumpOp} from './xlated.js'

/** Which family a BPF helper belongs to, by its UAPI name: what a path walk asks of a program's calls (bpf/helpers.ts). */
export type HelperFamily = 'redirect' | 'tail-call' | 'tunnel' | 'fib' | 'map' | 'socket' | 'packet' | 'other'

export interface ProgramFinding {
  /** Instruction slot (as bpftool numbers it). */
  pc: number
  /** The instruction, verbatim. */
  disasm: string
  /** The C source line from BTF line info, when the program has it. */
  src?: string
  evidence: 'program'
}

export interface MarkLoad extends ProgramFinding {
  /** Destination register. */
  reg: number
  /** The mark bits the load reads: 0xffffffff for `*(u32 *)(ctx +markOffset)`. */
  bits: number
}

/**
 * The mark after the store, as one of the netfilter-style operations (u32 values):
 * - `set`:        mark = value                       (mask 0xffffffff)
 * - `or`:         mark |= value                      (mask = value)
 * - `and`:        mark &= value                      (mask = ~value, the bits cleared)
 * - `xor`:        mark ^= value                      (mask = value)
 * - `set-masked`: mark = (mark & ~mask) | value      (value ⊆ mask; iptables `--set-mark V/M`, model/mark.ts `set-mark`)
 * - `set-xmark`:  mark = (mark & ~mask) ^ value      (iptables `--set-xmark V/M`; only when bits are both set and flipped)
 * - `unknown`:    the stored value depends on something other than constants and the mark's own bits. `mask` holds
 *                 the bits that may change; of those, the ones outside `unknownBits` become the bits of `value`.
 * In every case `mask` is the set of bits the write may change (0 for a store of the unchanged mark).
 */
type MarkWriteOp = 'set' | 'or' | 'and' | 'xor' | 'set-masked' | 'set-xmark' | 'unknown'

export interface MarkWrite extends ProgramFinding {
  op: MarkWriteOp
  value: number
  mask: number
  /** Bits whose new value the analysis cannot tell (0 unless op is 'unknown'). */
  unknownBits: number
  /** For people: `mark = 0x1234`, `mark |= 0x4000`, `mark = (mark & ~0xff00) | 0x1200`. */
  expr: string
}

/**
 * A conditional jump that tests mark bits:
 * - `match`:   taken when ((mark & mask) === value) !== negated  (`if r2 != 0x200` after `r2 &= 0xf00`: 0x200/0xf00, negated)
 * - `any-set`: taken when ((mark & mask) !== 0) !== negated     (`if r2 & 0x4100 goto`)
 * - `ordered`: an ordered compare (`>`, `s<=`…) of a value made of the mark bits in `mask` with `value`
 * - `unknown`: the compared value mixes mark bits with bits the analysis does not know, or is compared with a non-constant
 */
export interface MarkMatch extends ProgramFinding {
  kind: 'match' | 'any-set' | 'ordered' | 'unknown'
  value: number
  mask: number
  negated: boolean
  /** The jump's operator as printed, with the mark on the left. */
  op: JumpOp
  width: 32 | 64
  /** False when no mark can make the test true (the program forced some compared bits to other constants). */
  satisfiable: boolean
}

export interface HelperCall extends ProgramFinding {
  /** The helper's UAPI name (`bpf_redirect_map` for dev_map_redirect…), or the printed symbol when unknown. */
  helper: string
  /** As bpftool printed it (a kallsyms name, or 0x… when it could not resolve it). */
  symbol: string
  family: HelperFamily
  /** r1-r5 at the call when they hold a known constant, else null: bpf_redirect(ifindex, flags), bpf_tail_call(ctx, map, index). */
  args: Array<number | null>
  /** The map argument when it came from `map[id:N]`: r2 for bpf_tail_call, else r1. */
  mapId?: number
}

export interface SubprogramCall extends ProgramFinding {
  target: number
}

/** A load or store at the mark's offset through a register that may or may not hold ctx (the analysis lost track). */
export interface UncertainMarkAccess extends ProgramFinding {
  access: 'load' | 'store'
  reason: string
}

export interface ProgramSummary {
  markOffset: number
  loads: MarkLoad[]
  writes: MarkWrite[]
  matches: MarkMatch[]
  helperCalls: HelperCall[]
  /** Sorted, unique helper names. */
  helpers: string[]
  /** Sorted, unique families of the helpers called. */
  families: HelperFamily[]
  subprogramCalls: SubprogramCall[]
  /** Map ids referenced by `map[id:N]` loads, sorted, unique. */
  mapIds: number[]
  uncertain: UncertainMarkAccess[]
  /** Where the analysis lost precision: undecoded instructions, unreachable code, indirect jumps. */
  notes: string[]
}
