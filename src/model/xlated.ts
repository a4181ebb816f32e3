/** A BPF program's translated (xlated) instructions, as `bpftool prog dump xlated` prints them, decoded. */

// ---- the decoded instruction --------------------------------------------------------------------------------------

/** A register operand (r0-r10, r11 = the verifier's AX) or a signed 32-bit immediate as printed. */
export type XlatedOperand = {reg: number} | {imm: number}

export type AluOp = 'mov' | 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod' | 'or' | 'and' | 'lsh' | 'rsh' | 'arsh' | 'xor'

export type JumpOp = '==' | '!=' | '>' | '>=' | '<' | '<=' | 's>' | 's>=' | 's<' | 's<=' | '&'

export type MemSize = 1 | 2 | 4 | 8

export type XlatedOp =
  /** `(b7) r2 = 4660`, `(bf) r6 = r1`, `(47) r3 |= 16384`, `(54) w2 &= -3841`, `(bc) w3 = w2`; `signExtendFrom` for cpu v4 `r1 = (s8)r2`. */
  | {kind: 'alu'; width: 32 | 64; op: AluOp; dst: number; src: XlatedOperand; signExtendFrom?: 8 | 16 | 32}
  /** `(87) r2 = -r2` */
  | {kind: 'neg'; width: 32 | 64; dst: number}
  /** `(dc) r2 = be16 r2`, `(d4) r2 = le32 r2`, `(d7) r2 = bswap64 r2` */
  | {kind: 'endian'; dst: number; order: 'be' | 'le' | 'bswap'; bits: 16 | 32 | 64}
  /** `(61) r2 = *(u32 *)(r1 +164)`; `signed` for cpu v4 `*(s16 *)`. */
  | {kind: 'load'; size: MemSize; signed: boolean; dst: number; base: number; off: number}
  /** `(63) *(u32 *)(r1 +164) = r2`, `(62) *(u32 *)(r10 -4) = 0` */
  | {kind: 'store'; size: MemSize; base: number; off: number; src: XlatedOperand}
  /** `(db) lock *(u64 *)(r1 +0) += r2`, `(c3) r2 = atomic_fetch_add((u32 *)(r1 +0), r2)`, cmpxchg (result in r0), xchg, load_acquire/store_release. */
  | {kind: 'atomic'; size: MemSize; base: number; off: number; op: string; src?: number; fetchDst?: number}
  /** `(18) r1 = map[id:25]`, `(18) r1 = map[id:25][0]+8`, `(18) r2 = subprog[+5]`, `(18) r1 = 0xffffbfff` (hex as printed). */
  | {kind: 'ld-imm64'; dst: number; value?: string; mapId?: number; mapValueOffset?: number; subprogOffset?: number}
  /** `(20) r0 = *(u32 *)skb[12]`, `(40) r0 = *(u16 *)skb[r7 + 0]` (legacy packet loads; they clobber r1-r5). */
  | {kind: 'ld-abs'; size: MemSize; indexReg?: number; off: number}
  /**
   * `(85) call bpf_redirect#10291712` (name from kallsyms, imm is an address offset), `(85) call bpf_tail_call#12`
   * (small ids are named from the helper enum). `symbol` as printed; `helper` is the helper's UAPI name when known.
   */
  | {kind: 'call'; callee: 'helper'; symbol: string; helper?: string; imm: number}
  /** `(85) call pc+5#bpf_prog_3b185187f1855c4c_F`: a bpf-to-bpf call to the subprogram at `target`. */
  | {kind: 'call'; callee: 'subprog'; offset: number; target: number; symbol?: string}
  /**
   * `(05) goto pc+3`, `(15) if r2 == 0xd00 goto pc+4`, `(56) if w2 != 0x200 goto pc+2`, `(e5) may_goto pc+1`.
   * `conditional` with no `cond`: a condition bpftool could not print (may_goto, or `(null)` from an old bpftool).
   * A register compared with an immediate: `imm` is the signed 32-bit value (JMP sign-extends it to 64 bits).
   */
  | {kind: 'jump'; offset: number; target: number; conditional: boolean; cond?: {op: JumpOp; width: 32 | 64; dst: number; src: XlatedOperand}}
  /** `(e0) gotox r1`: an indirect jump; its targets are not in the text. */
  | {kind: 'indirect-jump'; reg: number}
  /** `(95) exit` */
  | {kind: 'exit'}
  /** `(c8) nospec`: a speculation barrier, no effect on registers. */
  | {kind: 'nospec'}
  /**
   * A form understood to write `dst` with something opaque: `r1 = &(void __percpu *)(r1)`, `addr_space_cast`.
   * `guessed`: text outside the known forms that still reads `rN = …` / `rN op= …`, so only the destination is known.
   */
  | {kind: 'opaque'; dst: number; guessed?: boolean}
  /** Not decoded (a `BUG_…` line or text outside the format). A problem accompanies it. */
  | {kind: 'unknown'}

export interface XlatedInsn {
  /** Instruction slot, as bpftool numbers it (a 64-bit immediate load uses two). */
  pc: number
  /** The opcode byte printed in parentheses, e.g. 0xb7 (or taken from `BUG_ldx_91`); absent if none was printed. */
  code?: number
  /** Verbatim, e.g. `(63) *(u32 *)(r1 +164) = r2`. */
  disasm: string
  /** The C source line from BTF line info, e.g. `skb->mark = 0x1234;`. */
  src?: string
  /** The function prototype at a function's first instruction, e.g. `int ni_set_mark(struct __sk_buff * skb)`. */
  proto?: string
  op: XlatedOp
}

/** A program from a multi-program (`name X`) dump; `id` etc. are absent for the bare single-program form. */
export interface XlatedProgram {
  id?: number
  name?: string
  tag?: string
  type?: string
  insns: XlatedInsn[]
}
