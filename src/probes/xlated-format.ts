/**
 * Raw eBPF instructions (the 8 bytes of each, as the kernel returns them in `xlated_prog_insns`) printed the way
 * bpftool 7.1 prints them in `bpftool -j prog dump xlated` (its disasm.c, the kernel's kernel/bpf/disasm.c of
 * Linux 6.1, read for the format only). The text is what the rest of nodeinspect reads (`decodeXlatedDisasm`),
 * and what a finding quotes as its evidence, so a program read through the helper (`nodeinspect-bpf prog-dump`)
 * says exactly what the same program read through bpftool says. Pure.
 *
 * bpftool 7.1 predates cpu v4: it prints a sign-extending load as `BUG_ldx_91`, movsx as a plain move, sdiv as
 * `/=`, bswap as `BUG_alu64_d7`; these are kept (the decoder corrects the first three from the fields).
 */

/** One instruction's fields: code, dst_reg, src_reg, off (signed 16), imm (signed 32). */
export interface RawInsn {
  code: number
  dst: number
  src: number
  off: number
  imm: number
}

/** `b702000034120000`: code b7, regs 02 (dst 2, src 0), off 0000, imm 0x1234 (both little-endian). Undefined if not 16 hex digits. */
export function rawInsnFromHex(hex: string): RawInsn | undefined {
  if (!/^[0-9a-f]{16}$/i.test(hex)) return undefined
  const b = (i: number): number => parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return {code: b(0), dst: b(1) & 0x0f, src: b(1) >> 4, off: ((b(3) << 8) | b(2)) << 16 >> 16, imm: (b(4) | (b(5) << 8) | (b(6) << 16) | (b(7) << 24)) | 0}
}

const ALU_STR = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'endian']
// disasm.c's table has no entry for 0xe0 (BPF_JCOND, may_goto) and glibc prints the NULL as "(null)".
const JMP_STR = ['jmp', '==', '>', '>=', '&', '!=', 's>', 's>=', 'call', 'exit', '<', '<=', 's<', 's<=', '(null)', '(null)']
const LDST = ['u32', 'u16', 'u8', 'u64']
const ATOMIC_ALU: Readonly<Record<number, string>> = {0x00: 'add', 0x50: 'and', 0x40: 'or', 0xa0: 'xor'}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0')
const signed = (n: number): string => (n >= 0 ? `+${n}` : String(n))
const u32hex = (n: number): string => (n >>> 0).toString(16)

/** What the helper resolved for a call (kallsyms or the helper enum) and whether the program was JITed with symbols. */
export interface CallNames {
  /** The callee's name as bpftool prints it, by instruction slot. */
  sym: ReadonlyMap<number, string>
  /** Number of jited ksyms: bpftool prints a bpf-to-bpf call's symbol only when there are some. */
  jitedKsyms: number
}

/**
 * One instruction at slot `pc` (`next` is the following slot, for a 64-bit immediate load), e.g.
 * `(63) *(u32 *)(r1 +164) = r2`, `(85) call bpf_redirect#10560128`, `(18) r2 = map[id:25]`.
 */
export function formatXlatedInsn(insn: RawInsn, next: RawInsn | undefined, pc: number, calls: CallNames): string {
  const {code, dst, src, off, imm} = insn
  const cls = code & 0x07
  const head = `(${hex2(code)})`
  const size = LDST[(code & 0x18) >> 3]!
  switch (cls) {
    case 0x04:
    case 0x07: {
      const w = cls === 0x04 ? 'w' : 'r'
      const op = code & 0xf0
      if (op === 0xd0) return cls === 0x07 ? `BUG_alu64_${hex2(code)}` : `${head} r${dst} = ${code & 0x08 ? 'be' : 'le'}${imm} r${dst}`
      if (op === 0x80) return `${head} ${w}${dst} = -${w}${dst}`
      const s = ALU_STR[op >> 4] ?? '(null)'
      return code & 0x08 ? `${head} ${w}${dst} ${s} ${w}${src}` : `${head} ${w}${dst} ${s} ${imm}`
    }
    case 0x03: {
      const mode = code & 0xe0
      const mem = `(${size} *)(r${dst} ${signed(off)})`
      const bits = (code & 0x18) === 0x18 ? '64' : ''
      if (mode === 0x60) return `${head} *${mem} = r${src}`
      if (mode !== 0xc0) return `BUG_${hex2(code)}`
      if (imm === 0x00 || imm === 0x50 || imm === 0x40 || imm === 0xa0) return `${head} lock *${mem} ${ALU_STR[imm >> 4]} r${src}`
      if (imm === 0x01 || imm === 0x51 || imm === 0x41 || imm === 0xa1) return `${head} r${src} = atomic${bits}_fetch_${ATOMIC_ALU[imm & 0xf0]}(${mem}, r${src})`
      if (imm === 0xf1) return `${head} r0 = atomic${bits}_cmpxchg(${mem}, r0, r${src})`
      if (imm === 0xe1) return `${head} r${src} = atomic${bits}_xchg(${mem}, r${src})`
      return `BUG_${hex2(code)}`
    }
    case 0x02: {
      const mode = code & 0xe0
      if (mode === 0x60) return `${head} *(${size} *)(r${dst} ${signed(off)}) = ${imm}`
      if (mode === 0xc0) return `${head} nospec`
      return `BUG_st_${hex2(code)}`
    }
    case 0x01:
      if ((code & 0xe0) !== 0x60) return `BUG_ldx_${hex2(code)}`
      return `${head} r${dst} = *(${size} *)(r${src} ${signed(off)})`
    case 0x00: {
      const mode = code & 0xe0
      if (mode === 0x20) return `${head} r0 = *(${size} *)skb[${imm}]`
      if (mode === 0x40) return `${head} r0 = *(${size} *)skb[r${src} + ${imm}]`
      if (mode === 0x00 && (code & 0x18) === 0x18) return `${head} r${dst} = ${imm64Text(insn, next)}`
      return `BUG_ld_${hex2(code)}`
    }
    default: {
      // BPF_JMP (5) and BPF_JMP32 (6)
      const w = cls === 0x06 ? 'w' : 'r'
      const op = code & 0xf0
      if (op === 0x80) {
        const sym = calls.sym.get(pc)
        if (src === 1) return `${head} call pc${signed(off)}${calls.jitedKsyms > 0 && sym !== undefined ? `#${sym}` : ''}`
        return `${head} call ${sym ?? 'unknown'}#${imm}`
      }
      if (code === 0x05) return `${head} goto pc${signed(off)}`
      if (code === 0x95) return `${head} exit`
      const s = JMP_STR[op >> 4]!
      if (code & 0x08) return `${head} if ${w}${dst} ${s} ${w}${src} goto pc${signed(off)}`
      return `${head} if ${w}${dst} ${s} 0x${u32hex(imm)} goto pc${signed(off)}`
    }
  }
}

/** bpftool's print_imm: the kernel's dump already put map ids in imm (bpf_insn_prepare_dump). */
function imm64Text(insn: RawInsn, next: RawInsn | undefined): string {
  const hi = next?.imm ?? 0
  switch (insn.src) {
    case 1:
      return `map[id:${insn.imm >>> 0}]`
    case 2:
      return `map[id:${insn.imm >>> 0}][0]+${hi >>> 0}`
    case 6:
      return `map[idx:${insn.imm >>> 0}]+${hi >>> 0}`
    case 4:
      return `subprog[${signed(insn.imm)}]`
    default:
      return `0x${((BigInt(hi >>> 0) << 32n) | BigInt(insn.imm >>> 0)).toString(16)}`
  }
}
