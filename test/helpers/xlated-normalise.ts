// Xlated dumps of the same program differ from one kernel build to the next in a few places that say nothing about
// the program: these helpers replace them, so a dump captured on one machine compares with what another produces.
import {summariseProgram} from '../../src/bpf/interpreter.js'
import type {XlatedInsn} from '../../src/model/xlated.js'

/**
 * One instruction with its build-dependent parts replaced:
 * - a helper call's number: `call bpf_redirect#10291712` -> `call bpf_redirect`. The verifier stores the helper's
 *   address relative to __bpf_call_base in the immediate (kernel/bpf/verifier.c, do_misc_fixups:
 *   `insn->imm = fn->func - __bpf_call_base`), so it moves with every build; the name is the identity.
 *   A call bpftool could not name (`call 0xffffffffc0001234#3333`, a kallsyms address) -> `call <address>`.
 * - map ids, `map[id:98]` -> `map[id:N]`: handed out by the kernel at load time.
 * - a subprogram's tag in `call pc+2#bpf_prog_7df461bbfae31152_tag_it` -> `bpf_prog_<tag>_tag_it`: a hash of the
 *   instructions, so it changes with the compiler.
 * Bpf-to-bpf call offsets (`pc+2`), constants and ctx offsets are kept (see nameSkBuffFields for the latter).
 */
export function normaliseXlatedDisasm(disasm: string): string {
  return disasm
    .replace(/^(\([0-9a-f]{2}\) call )(?!pc[+-])(.*)#-?\d+$/, (_m, head: string, sym: string) => `${head}${/^0x[0-9a-f]+$/i.test(sym) ? '<address>' : sym}`)
    .replace(/map\[id:\d+\]/g, 'map[id:N]')
    .replace(/\bbpf_prog_[0-9a-f]{16}_/g, 'bpf_prog_<tag>_')
}

/**
 * The instructions with every access to a 32-bit `struct sk_buff` field through the ctx pointer written by field
 * name: `*(u32 *)(r1 +164)` -> `*(u32 *)(r1 +skb.mark)` when `layout.mark` is 164. The verifier rewrites
 * `__sk_buff.mark` into offsetof(struct sk_buff, mark), which depends on the kernel's configuration
 * (docs/kernel-notes.md#kn-4-xlated-mark-offset).
 * Which accesses go through the ctx is decided by the same dataflow as mark accesses (summariseProgram, run
 * once per field), so a store at the same offset into a map value or the stack keeps its number.
 */
export function nameSkBuffFields(insns: readonly XlatedInsn[], layout: Readonly<Record<string, {offsetBytes: number; sizeBits?: number}>>): string[] {
  const names = new Map<number, string>()
  for (const [field, {offsetBytes, sizeBits}] of Object.entries(layout)) {
    if (sizeBits !== 32) continue
    const r = summariseProgram(insns, {markOffset: offsetBytes})
    // Only accesses it is sure go through the ctx: an uncertain one keeps its number.
    for (const f of [...r.loads, ...r.writes]) names.set(f.pc, `${field}:${offsetBytes}`)
  }
  return insns.map((i) => {
    const named = names.get(i.pc)
    if (named === undefined) return i.disasm
    const [field, base] = named.split(':') as [string, string]
    return i.disasm.replace(/\((r\d+) ([+-]\d+)\)/, (_m, reg: string, off: string) => {
      const delta = Number(off) - Number(base)
      return `(${reg} +skb.${field}${delta === 0 ? '' : delta > 0 ? `+${delta}` : delta})`
    })
  })
}
