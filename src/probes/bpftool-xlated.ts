/**
 * `bpftool -j prog dump xlated id N`: a loaded program's instructions after the verifier rewrote them (so
 * `__sk_buff.mark` already reads `*(u32 *)(r1 +164)` on kernel 6.18, docs/kernel-notes.md#kn-4-xlated-mark-offset), one disassembled line each.
 *
 * The disasm text follows the kernel's kernel/bpf/disasm.c as vendored in bpftool (7.1 on Debian 12). It is the
 * format contract; each form decoded here is shown next to its pattern. `-j` entries carry `disasm`, plus `src`
 * (and `proto` at function starts) when the program has BTF line info, plus `opcodes` only with that option.
 * A 64-bit immediate load takes two instruction slots: bpftool prints it once and the next index is +2, so the
 * JSON form's position in the array is not the pc; `pc` below is the slot index that `goto pc+N` counts in.
 */
import type {RawOutput, Source} from '../source/types.js'
import type {RunFailure} from '../model/warning.js'
import {parseJson, problem, rawJson} from './parsed.js'
import type {Parsed, ParseProblem, Warning} from '../model/warning.js'
import type {XlatedProgram, XlatedInsn, XlatedOp, MemSize, JumpOp, AluOp, XlatedOperand} from '../model/xlated.js'

// ---- collect ----------------------------------------------------------------------------------------------------

/** One program by id: the form that works on every bpftool. @internal tested directly (a test seam) */
export const BPFTOOL_XLATED_ARGV = (id: number): string[] => ['bpftool', '-j', 'prog', 'dump', 'xlated', 'id', String(id)]
/**
 * Every program with this name, in one process. bpftool 7.1 accepts one PROG selector only (`id 1 id 2` prints
 * `null` and exits 255), but `name X` and `tag T` select every match and print `[{"id":…,"insns":[…]}, …]`
 * (only when more than one matched: a single match prints the bare instruction list).
 */
const BPFTOOL_XLATED_BY_NAME_ARGV = (name: string): string[] => ['bpftool', '-j', 'prog', 'dump', 'xlated', 'name', name]

export interface XlatedRequest {
  id: number
  /** The program name from `bpftool prog show` (up to 15 characters); lets programs that share it be dumped at once. */
  name?: string
}

/** One bpftool run and the requested programs its output holds. */
export interface XlatedRaw {
  /** Requested program ids this output answers for (one for an `id` dump; several for a `name` dump). */
  ids: number[]
  output: RawOutput
}

const DEFAULT_CONCURRENCY = 4

/**
 * Dump the xlated instructions of `progs` with as few bpftool processes as bpftool 7.1 allows: one `name X` run
 * per name shared by two or more requested programs (Cilium loads the same program on every endpoint), one `id N`
 * run for the rest, at most `concurrency` at a time. A name run that fails, or lacks a requested id (unloaded or
 * renamed in between; a name that now matches one program prints no ids), is redone per id. Deterministic for a
 * given input and outputs, so a snapshot replays it. The output is not interpreted beyond finding which ids a
 * name run printed.
 */
export async function collectBpftoolXlated(src: Source, progs: ReadonlyArray<number | XlatedRequest>, opts: {concurrency?: number} = {}): Promise<XlatedRaw[]> {
  const byId = new Map<number, string | undefined>()
  for (const p of progs) {
    const r = typeof p === 'number' ? {id: p} : p
    if (!byId.has(r.id) || byId.get(r.id) === undefined) byId.set(r.id, r.name || undefined)
  }
  const byName = new Map<string, number[]>()
  for (const [id, name] of byId) if (name !== undefined) byName.set(name, [...(byName.get(name) ?? []), id])
  const jobs: Array<{argv: string[]; ids: number[]; byName: boolean}> = []
  const single: number[] = []
  for (const [name, ids] of [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (ids.length > 1) jobs.push({argv: BPFTOOL_XLATED_BY_NAME_ARGV(name), ids: ids.sort((a, b) => a - b), byName: true})
  }
  for (const [id, name] of byId) if (name === undefined || (byName.get(name)?.length ?? 0) < 2) single.push(id)
  for (const id of single.sort((a, b) => a - b)) jobs.push({argv: BPFTOOL_XLATED_ARGV(id), ids: [id], byName: false})

  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY)
  const outputs = await mapBounded(jobs, concurrency, (j) => src.run({argv: j.argv}))
  const result: XlatedRaw[] = []
  const redo: number[] = []
  jobs.forEach((j, i) => {
    const output = outputs[i]!
    if (!j.byName) {
      result.push({ids: j.ids, output})
      return
    }
    const printed = output.failure ? new Set<number>() : programIdsIn(output.stdout)
    const have = j.ids.filter((id) => printed.has(id))
    if (have.length > 0) result.push({ids: have, output})
    for (const id of j.ids) if (!printed.has(id)) redo.push(id)
  })
  if (redo.length > 0) {
    const again = await mapBounded(redo, concurrency, (id) => src.run({argv: BPFTOOL_XLATED_ARGV(id)}))
    redo.forEach((id, i) => result.push({ids: [id], output: again[i]!}))
  }
  return result
}

/** Ids of the programs in a multi-program dump: each starts `{"id":N,"type":`; inside JSON strings `"` is escaped. */
function programIdsIn(stdout: string): Set<number> {
  const ids = new Set<number>()
  for (const m of stdout.matchAll(/\{"id":(\d+),"type":"/g)) ids.add(Number(m[1]))
  return ids
}

async function mapBounded<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return out
}

// ---- helper names -----------------------------------------------------------------------------------------------

/**
 * bpftool names a helper call by the kernel function it resolves to in kallsyms, which is not always the helper's
 * UAPI name: the verifier points bpf_redirect_map at the map type's op (dev_map_redirect…) and map helpers at
 * the map's ops (__htab_map_lookup_elem…), and some helpers have per-program-type implementations.
 */
const HELPER_ALIASES: Readonly<Record<string, string>> = {
  bpf_skb_fib_lookup: 'bpf_fib_lookup',
  bpf_xdp_fib_lookup: 'bpf_fib_lookup',
  bpf_skb_event_output: 'bpf_perf_event_output',
  bpf_xdp_event_output: 'bpf_perf_event_output',
  bpf_xdp_redirect: 'bpf_redirect',
  bpf_xdp_redirect_map: 'bpf_redirect_map',
  bpf_tc_sk_assign: 'bpf_sk_assign',
}

/** @internal tested directly (a test seam) */
export function canonicalHelperName(symbol: string): string | undefined {
  if (/^0x[0-9a-f]+$/i.test(symbol) || symbol === 'unknown' || symbol === 'bpf_unspec' || symbol === '') return undefined
  const alias = HELPER_ALIASES[symbol]
  if (alias) return alias
  const lookup = /^bpf_(?:tc|xdp|sock_addr|sk)_(sk|skc)_lookup_(tcp|udp)$/.exec(symbol)
  if (lookup) return `bpf_${lookup[1]}_lookup_${lookup[2]}`
  if (/^\w+_map_redirect$/.test(symbol) && symbol !== 'bpf_redirect_map') return 'bpf_redirect_map'
  const mapOp = /^\w*?_map_(lookup_elem|update_elem|delete_elem|push_elem|pop_elem|peek_elem|lookup_percpu_elem)(?:_sys_only)?$/.exec(symbol)
  if (mapOp && !symbol.startsWith('bpf_map_')) return `bpf_map_${mapOp[1]}`
  return symbol
}

// ---- decode one disasm string -------------------------------------------------------------------------------------

const SIZE: Readonly<Record<string, MemSize>> = {u8: 1, u16: 2, u32: 4, u64: 8, s8: 1, s16: 2, s32: 4}
const ALU: Readonly<Record<string, AluOp>> = {
  '=': 'mov',
  '+=': 'add',
  '-=': 'sub',
  '*=': 'mul',
  '/=': 'div',
  's/=': 'sdiv',
  '%=': 'mod',
  's%=': 'smod',
  '|=': 'or',
  '&=': 'and',
  '<<=': 'lsh',
  '>>=': 'rsh',
  's>>=': 'arsh',
  '^=': 'xor',
}
const JUMP_OPS: ReadonlySet<string> = new Set(['==', '!=', '>', '>=', '<', '<=', 's>', 's>=', 's<', 's<=', '&'])
const MEM = String.raw`\((u8|u16|u32|u64|s8|s16|s32) \*\)\(r(\d+) ([+-]\d+)\)`

const RE = {
  line: /^\(([0-9a-f]{2})\) (.*)$/,
  bug: /^BUG_(?:[a-z0-9]+_)?([0-9a-f]{2})$/,
  callSub: /^call pc([+-]\d+)(?:#(.+))?$/,
  callHelper: /^call (.*)#(-?\d+)$/,
  goto: /^(goto|gotol|may_goto) pc([+-]\d+)$/,
  gotox: /^gotox r(\d+)$/,
  cond: /^if ([rw])(\d+) (\S+) (?:([rw])(\d+)|(0x[0-9a-f]+|-?\d+)) goto pc([+-]\d+)$/,
  store: new RegExp(String.raw`^\*${MEM} = (?:r(\d+)|(-?\d+))$`),
  lock: new RegExp(String.raw`^lock \*${MEM} (\S+) r(\d+)$`),
  fetch: new RegExp(String.raw`^r(\d+) = atomic(?:64)?_(fetch_add|fetch_and|fetch_or|fetch_xor|xchg|cmpxchg)\(${MEM}, (?:r0, )?r(\d+)\)$`),
  loadAcq: new RegExp(String.raw`^r(\d+) = load_acquire\(${MEM}\)$`),
  storeRel: new RegExp(String.raw`^store_release\(${MEM}, r(\d+)\)$`),
  load: new RegExp(String.raw`^r(\d+) = \*${MEM}$`),
  ldAbs: /^r0 = \*\((u8|u16|u32|u64) \*\)skb\[(?:r(\d+) \+ )?(-?\d+)\]$/,
  imm64: /^r(\d+) = (?:map\[id:(\d+)\](?:\[0\]\+(\d+))?|map\[idx:(\d+)\]\+(\d+)|subprog\[([+-]\d+)\]|(0x[0-9a-f]+))$/,
  endian: /^r(\d+) = (be|le|bswap)(16|32|64) r(\d+)$/,
  neg: /^([rw])(\d+) = -([rw])(\d+)$/,
  aluReg: /^([rw])(\d+) (=|\+=|-=|\*=|\/=|s\/=|%=|s%=|\|=|&=|<<=|>>=|s>>=|\^=) (?:\(s(8|16|32)\))?([rw])(\d+)$/,
  aluImm: /^([rw])(\d+) (=|\+=|-=|\*=|\/=|s\/=|%=|s%=|\|=|&=|<<=|>>=|s>>=|\^=) (-?\d+)$/,
  opaque: /^r(\d+) = (?:&\(void __percpu \*\)\(r\d+\)|addr_space_cast\(r\d+, \d+, \d+\))$/,
  dstGuess: /^([rw])(\d+) \S*=/,
}

/** The signed 32-bit value of a printed immediate (`0xfffff0ff` in a jump is -3841). */
const s32 = (text: string): number => (text.startsWith('0x') ? parseInt(text, 16) | 0 : Number(text) | 0)

/**
 * Decode the text after `(xx) ` (or a whole `BUG_…` line) at slot `pc`. Returns the op, the opcode byte and whether
 * it took two slots. Pure; never throws.
 * @internal tested directly (a test seam)
 */
export function decodeXlatedDisasm(disasm: string, pc: number): {op: XlatedOp; code?: number} {
  const line = RE.line.exec(disasm.trim())
  if (!line) {
    const bug = RE.bug.exec(disasm.trim())
    return bug ? {op: {kind: 'unknown'}, code: parseInt(bug[1]!, 16)} : {op: {kind: 'unknown'}}
  }
  const code = parseInt(line[1]!, 16)
  return {op: decodeRest(line[2]!, code, pc), code}
}

function decodeRest(t: string, code: number, pc: number): XlatedOp {
  let m: RegExpExecArray | null
  if (t === 'exit') return {kind: 'exit'}
  if (t === 'nospec') return {kind: 'nospec'}
  if ((m = RE.callSub.exec(t))) {
    const offset = Number(m[1])
    const op: XlatedOp = {kind: 'call', callee: 'subprog', offset, target: pc + offset + 1}
    if (m[2] !== undefined) op.symbol = m[2]
    return op
  }
  if ((m = RE.callHelper.exec(t))) {
    const op: XlatedOp = {kind: 'call', callee: 'helper', symbol: m[1]!, imm: Number(m[2])}
    const helper = canonicalHelperName(m[1]!)
    if (helper !== undefined) op.helper = helper
    return op
  }
  if ((m = RE.goto.exec(t))) {
    const offset = Number(m[2])
    return {kind: 'jump', offset, target: pc + offset + 1, conditional: m[1] === 'may_goto'}
  }
  if ((m = RE.gotox.exec(t))) return {kind: 'indirect-jump', reg: Number(m[1])}
  if ((m = RE.cond.exec(t))) {
    const offset = Number(m[7])
    // bpftool 7.1 prints JMP32|JA ("gotol", cpu v4) as `if w0 jmp 0xN goto pc+0`: the target is the immediate.
    if (m[3] === 'jmp' && code === 0x06 && m[6] !== undefined) return {kind: 'jump', offset: s32(m[6]), target: pc + s32(m[6]) + 1, conditional: false}
    const op: XlatedOp = {kind: 'jump', offset, target: pc + offset + 1, conditional: true}
    if (JUMP_OPS.has(m[3]!)) {
      const src: XlatedOperand = m[5] !== undefined ? {reg: Number(m[5])} : {imm: s32(m[6]!)}
      op.cond = {op: m[3] as JumpOp, width: m[1] === 'w' ? 32 : 64, dst: Number(m[2]), src}
    }
    return op
  }
  if ((m = RE.store.exec(t))) {
    return {kind: 'store', size: SIZE[m[1]!]!, base: Number(m[2]), off: Number(m[3]), src: m[4] !== undefined ? {reg: Number(m[4])} : {imm: Number(m[5]) | 0}}
  }
  if ((m = RE.lock.exec(t))) return {kind: 'atomic', size: SIZE[m[1]!]!, base: Number(m[2]), off: Number(m[3]), op: m[4]!, src: Number(m[5])}
  if ((m = RE.fetch.exec(t))) {
    return {kind: 'atomic', size: SIZE[m[3]!]!, base: Number(m[4]), off: Number(m[5]), op: m[2]!, src: Number(m[6]), fetchDst: Number(m[1])}
  }
  if ((m = RE.loadAcq.exec(t))) return {kind: 'atomic', size: SIZE[m[2]!]!, base: Number(m[3]), off: Number(m[4]), op: 'load_acquire', fetchDst: Number(m[1])}
  if ((m = RE.storeRel.exec(t))) return {kind: 'atomic', size: SIZE[m[1]!]!, base: Number(m[2]), off: Number(m[3]), op: 'store_release', src: Number(m[4])}
  if ((m = RE.load.exec(t))) return {kind: 'load', size: SIZE[m[2]!]!, signed: m[2]!.startsWith('s'), dst: Number(m[1]), base: Number(m[3]), off: Number(m[4])}
  if ((m = RE.ldAbs.exec(t))) {
    const op: XlatedOp = {kind: 'ld-abs', size: SIZE[m[1]!]!, off: Number(m[3])}
    if (m[2] !== undefined) op.indexReg = Number(m[2])
    return op
  }
  if (code === 0x18 && (m = RE.imm64.exec(t))) {
    const op: XlatedOp = {kind: 'ld-imm64', dst: Number(m[1])}
    if (m[2] !== undefined) op.mapId = Number(m[2])
    if (m[3] !== undefined) op.mapValueOffset = Number(m[3])
    if (m[6] !== undefined) op.subprogOffset = Number(m[6])
    if (m[7] !== undefined) op.value = m[7]
    return op
  }
  if ((m = RE.endian.exec(t))) return {kind: 'endian', dst: Number(m[1]), order: m[2] as 'be' | 'le' | 'bswap', bits: Number(m[3]) as 16 | 32 | 64}
  if ((m = RE.neg.exec(t))) return {kind: 'neg', width: m[1] === 'w' ? 32 : 64, dst: Number(m[2])}
  if ((m = RE.aluReg.exec(t))) {
    const op: XlatedOp = {kind: 'alu', width: m[1] === 'w' ? 32 : 64, op: ALU[m[3]!]!, dst: Number(m[2]), src: {reg: Number(m[6])}}
    if (m[4] !== undefined) op.signExtendFrom = Number(m[4]) as 8 | 16 | 32
    return op
  }
  if ((m = RE.aluImm.exec(t))) return {kind: 'alu', width: m[1] === 'w' ? 32 : 64, op: ALU[m[3]!]!, dst: Number(m[2]), src: {imm: Number(m[4]) | 0}}
  if ((m = RE.opaque.exec(t))) return {kind: 'opaque', dst: Number(m[1])}
  // Text we do not know but whose destination register is plain (`r1 = <something new>`): opaque, not unknown.
  if ((m = RE.dstGuess.exec(t)) && (code & 0x07) !== 0x02 && (code & 0x07) !== 0x03) return {kind: 'opaque', dst: Number(m[2]), guessed: true}
  return {kind: 'unknown'}
}

/**
 * bpftool 7.1 predates cpu v4 and prints some instructions a newer kernel accepts in an older form
 * (`r1 = r2` for movsx, `/=` for sdiv, `BUG_ldx_91` for a sign-extending load). With `opcodes` in the JSON the
 * instruction's own fields settle it.
 */
function refineWithOpcodes(op: XlatedOp, code: number | undefined, opc: unknown): XlatedOp {
  if (!opc || typeof opc !== 'object') return op
  const o = opc as {code?: unknown; src_reg?: unknown; dst_reg?: unknown; off?: unknown}
  const hex = (v: unknown): number | undefined => (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : undefined)
  const c = hex(o.code) ?? code
  const offBytes = Array.isArray(o.off) ? o.off.map(hex) : []
  if (c === undefined || offBytes.length !== 2 || offBytes.some((b) => b === undefined)) return op
  const off = ((offBytes[1]! << 8) | offBytes[0]!) << 16 >> 16
  return refineWithFields(op, {code: c, dst: hex(o.dst_reg), src: hex(o.src_reg), off})
}

/**
 * The same, from an instruction's fields (the helper's raw dump has them all): `off` is the signed 16-bit field.
 * @internal shared with the helper's prog-dump parser (bpf-helper-prog-dump.ts)
 */
export function refineWithFields(op: XlatedOp, f: {code: number; dst?: number; src?: number; off: number}): XlatedOp {
  const {code: c, off} = f
  const cls = c & 0x07
  if ((cls === 0x04 || cls === 0x07) && (c & 0xf0) === 0xb0 && (c & 0x08) && off !== 0 && op.kind === 'alu') {
    if (off === 8 || off === 16 || off === 32) return {...op, signExtendFrom: off as 8 | 16 | 32}
    return {kind: 'opaque', dst: op.dst} // percpu address (-1) or address-space cast (1)
  }
  if ((cls === 0x04 || cls === 0x07) && off === 1 && op.kind === 'alu' && (op.op === 'div' || op.op === 'mod')) return {...op, op: op.op === 'div' ? 'sdiv' : 'smod'}
  if (cls === 0x01 && (c & 0xe0) === 0x80 && op.kind === 'unknown') {
    const size = ({0x00: 4, 0x08: 2, 0x10: 1} as Record<number, MemSize>)[c & 0x18]
    if (f.dst !== undefined && f.src !== undefined && size !== undefined) return {kind: 'load', size, signed: true, dst: f.dst, base: f.src, off}
  }
  return op
}

// ---- parse ------------------------------------------------------------------------------------------------------

const PROBE = 'bpftool -j prog dump xlated'
const TEXT_PROBE = 'bpftool prog dump xlated'

function insnFrom(entry: unknown, pc: number, problems: ParseProblem[], index: number): XlatedInsn | undefined {
  const e = (entry ?? {}) as Record<string, unknown>
  if (typeof e.error === 'string') {
    problems.push(problem(PROBE, `bpftool error: ${e.error}`))
    return undefined
  }
  if (typeof e.disasm !== 'string') {
    problems.push(problem(PROBE, `instruction ${index} has no "disasm" string`, undefined, rawJson(entry)))
    return undefined
  }
  const {op: decoded, code} = decodeXlatedDisasm(e.disasm, pc)
  const op = refineWithOpcodes(decoded, code, e.opcodes)
  const insn: XlatedInsn = {pc, disasm: e.disasm, op}
  if (code !== undefined) insn.code = code
  if (typeof e.src === 'string') insn.src = e.src
  if (typeof e.proto === 'string') insn.proto = e.proto
  if (op.kind === 'unknown') problems.push(problem(PROBE, `pc ${pc}: instruction not decoded`, undefined, e.disasm))
  return insn
}

function insnsFrom(list: unknown[], problems: ParseProblem[]): XlatedInsn[] {
  const out: XlatedInsn[] = []
  let pc = 0
  list.forEach((entry, i) => {
    const insn = insnFrom(entry, pc, problems, i)
    if (insn) out.push(insn)
    // ld_imm64 occupies two slots, and bpftool prints only the first (xlated_dumper.c's double_insn).
    pc += insn?.code === 0x18 ? 2 : 1
  })
  return out
}

/** True for the bare single-program form: a list of `{"disasm":…}` objects (program entries have "id"/"insns"). */
const isInsnList = (v: unknown[]): boolean => v.length === 0 || !(typeof v[0] === 'object' && v[0] !== null && ('insns' in v[0] || 'id' in v[0]))

/**
 * Both JSON shapes: the bare instruction list of one program
 * `[{"proto":"int ni_set_mark(struct __sk_buff * skb)","src":"…","disasm":"(b7) r2 = 4660"},{"disasm":"(95) exit"}]`
 * and the multi-program form of `name X` / `tag T`
 * `[{"id":161,"type":"sched_cls","name":"ni_set_mark","tag":"955bad8f6279a889","gpl_compatible":true,"insns":[…]}, …]`.
 * @internal tested directly (a test seam)
 */
export function parseBpftoolXlatedPrograms(text: string): Parsed<XlatedProgram[]> {
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts: [], problems: [p]}
  const problems: ParseProblem[] = []
  if (!Array.isArray(value)) {
    const err = (value as {error?: unknown} | null)?.error
    if (typeof err === 'string') return {facts: [], problems: [problem(PROBE, `bpftool error: ${err}`)]}
    // bpftool 7.1 prints `null` (and exits 255) when given arguments it cannot use, e.g. two `id` selectors.
    return {facts: [], problems: [problem(PROBE, value === null ? 'bpftool printed null (bad arguments?)' : 'expected a list of instructions or programs', undefined, text.slice(0, 200))]}
  }
  if (isInsnList(value)) return {facts: [{insns: insnsFrom(value, problems)}], problems}
  const facts: XlatedProgram[] = []
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    if (typeof e.error === 'string') {
      problems.push(problem(PROBE, `bpftool error: ${e.error}`))
      continue
    }
    if (!Array.isArray(e.insns)) {
      problems.push(problem(PROBE, 'program entry lacks an "insns" list', undefined, rawJson(v)))
      continue
    }
    const prog: XlatedProgram = {insns: insnsFrom(e.insns, problems)}
    if (typeof e.id === 'number') prog.id = e.id
    if (typeof e.name === 'string') prog.name = e.name
    if (typeof e.tag === 'string') prog.tag = e.tag
    if (typeof e.type === 'string') prog.type = e.type
    facts.push(prog)
  }
  return {facts, problems}
}

/** `bpftool -j prog dump xlated id N`: one program's instructions. A multi-program dump is a problem here. @internal tested directly (a test seam) */
export function parseBpftoolXlatedJson(text: string): Parsed<XlatedInsn[]> {
  const r = parseBpftoolXlatedPrograms(text)
  if (r.facts.length > 1 || (r.facts.length === 1 && r.facts[0]!.id !== undefined)) {
    return {facts: r.facts[0]?.insns ?? [], problems: [...r.problems, problem(PROBE, `${r.facts.length} programs in one dump: use parseBpftoolXlatedPrograms`)]}
  }
  return {facts: r.facts[0]?.insns ?? [], problems: r.problems}
}

const TEXT_INSN = /^\s*(\d+): (.*)$/
const TEXT_HEADER = /^\d+: \S+\s+(?:name \S+\s+)?tag [0-9a-f]+/

/**
 * The plain form, one program:
 * ```
 * int ni_set_mark(struct __sk_buff * skb):
 * ; skb->mark = 0x1234;
 *    0: (b7) r2 = 4660
 *    1: (63) *(u32 *)(r1 +164) = r2
 * ```
 * `; ` lines are source lines (with `linum`: `; src [file:… line_num:… line_col:…]`), a line ending in `:` is the
 * next function's prototype, an indented hex line follows an instruction under `opcodes`. The printed index is
 * the pc. A `161: sched_cls  name …  tag …` header (from a `name` dump) is accepted before the first instruction.
 * @internal tested directly (a test seam)
 */
export function parseBpftoolXlatedText(text: string): Parsed<XlatedInsn[]> {
  const facts: XlatedInsn[] = []
  const problems: ParseProblem[] = []
  let src: string | undefined
  let proto: string | undefined
  let lastPc = -1
  let programs = 0
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!
    const line = raw.trimEnd()
    if (line.trim() === '') continue
    if (line.startsWith('; ')) {
      src = stripLineInfo(line.slice(2)).trim() || undefined
      continue
    }
    if (line === ';') continue
    if (TEXT_HEADER.test(line)) {
      if (++programs > 1 || facts.length > 0) {
        problems.push(problem(TEXT_PROBE, 'a second program in one dump: only the first is read', i + 1, raw))
        break
      }
      continue
    }
    const m = TEXT_INSN.exec(line)
    if (m) {
      const pc = Number(m[1])
      if (pc <= lastPc) problems.push(problem(TEXT_PROBE, `instruction index ${pc} does not follow ${lastPc}`, i + 1, raw))
      lastPc = pc
      const {op, code} = decodeXlatedDisasm(m[2]!, pc)
      const insn: XlatedInsn = {pc, disasm: m[2]!, op}
      if (code !== undefined) insn.code = code
      if (src !== undefined) insn.src = src
      if (proto !== undefined) insn.proto = proto
      src = undefined
      proto = undefined
      if (op.kind === 'unknown') problems.push(problem(TEXT_PROBE, `pc ${pc}: instruction not decoded`, i + 1, raw))
      facts.push(insn)
      continue
    }
    if (/^\s+([0-9a-f]{2} ){7}[0-9a-f]{2}(\s+([0-9a-f]{2} ){7}[0-9a-f]{2})?$/.test(line)) continue // `opcodes` bytes
    if (line.endsWith(':') && !/^\s/.test(line)) {
      proto = line.slice(0, -1)
      continue
    }
    problems.push(problem(TEXT_PROBE, line.trim() === '...' ? 'elided output ("...")' : 'unrecognised line', i + 1, raw))
  }
  return {facts, problems}
}

const LINE_INFO_TAIL = / line_num:\d+ line_col:\d+\]$/

/**
 * `; if (x) [file:/src/bpf_lxc.c line_num:42 line_col:3]` (bpftool -l) without its ` [file:… ]` tail: from the
 * first `[file:` before the tail to the end. Not / ?\[file:.* line_num:…\]$/, which backtracks from every
 * `[file:` of a long source line (quadratic; the source text is the loader's).
 * @internal tested directly (a test seam)
 */
export function stripLineInfo(s: string): string {
  const tail = LINE_INFO_TAIL.exec(s)
  if (!tail) return s
  const f = s.indexOf('[file:')
  if (f < 0 || f + 6 > tail.index) return s
  return s.slice(0, f > 0 && s[f - 1] === ' ' ? f - 1 : f)
}

/** What a set of collected dumps holds: programs by requested id, parse problems, and runs that failed. */
export interface XlatedDumps {
  programs: Array<{id: number; insns: XlatedInsn[]}>
  problems: ParseProblem[]
  warnings: Warning[]
}

/** Parse what {@link collectBpftoolXlated} returned; programs in a `name` dump that were not requested are dropped. */
export function parseBpftoolXlatedDumps(raws: readonly XlatedRaw[]): XlatedDumps {
  const out: XlatedDumps = {programs: [], problems: [], warnings: []}
  for (const r of raws) {
    const probe = r.output.argv.join(' ')
    if (r.output.failure) {
      out.warnings.push({probe, kind: r.output.failure as RunFailure, message: r.output.message ?? `${probe}: failed`})
      continue
    }
    const parsed = parseBpftoolXlatedPrograms(r.output.stdout)
    for (const p of parsed.problems) out.problems.push({...p, probe})
    const wanted = new Set(r.ids)
    const bare = parsed.facts.length === 1 && parsed.facts[0]!.id === undefined
    if (bare && r.ids.length === 1) out.programs.push({id: r.ids[0]!, insns: parsed.facts[0]!.insns})
    else for (const p of parsed.facts) if (p.id !== undefined && wanted.has(p.id)) out.programs.push({id: p.id, insns: p.insns})
  }
  out.programs.sort((a, b) => a.id - b.id)
  return out
}
