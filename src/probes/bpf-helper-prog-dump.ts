/**
 * Programs' translated (xlated) code read by the project's helper (native/nodeinspect-bpf.c `prog-dump ID…`) in
 * ONE process whatever their number: BPF_PROG_GET_FD_BY_ID + BPF_OBJ_GET_INFO_BY_FD per program, and one read of
 * /proc/kallsyms to name helper calls. `bpftool prog dump xlated` (bpftool-xlated.ts) costs a process per program
 * or name, and Debian's bpftool 7.1 re-reads kallsyms (~120k symbols, 70-80 ms) for each: 500 Cilium endpoints'
 * programs took 45-80 s that way.
 *
 * The helper prints raw instructions; they are printed here the way bpftool 7.1 prints them (xlated-format.ts)
 * and decoded by the same decoder as bpftool's output, so both paths give the same XlatedInsn for a program.
 * The ids are in the argv, so a snapshot files the output under exactly the programs asked for.
 */
import {BPF_HELPER} from '../source/live.js'
import type {RawOutput, Source} from '../source/types.js'
import type {Parsed, ParseProblem, Warning} from '../model/warning.js'
import type {XlatedInsn, XlatedProgram} from '../model/xlated.js'
import {decodeXlatedDisasm, refineWithFields} from './bpftool-xlated.js'
import {parseJson, problem, rawJson} from './parsed.js'
import {formatXlatedInsn, rawInsnFromHex, type RawInsn} from './xlated-format.js'

export const PROG_DUMP_PROBE = 'nodeinspect-bpf prog-dump'

/** Sorted and unique, so the same set of programs is the same command (and the same snapshot key). @internal tested directly (a test seam) */
export const progDumpArgv = (ids: readonly number[]): string[] => [BPF_HELPER, 'prog-dump', ...[...new Set(ids)].sort((a, b) => a - b).map(String)]

export const collectBpfHelperProgDump = (src: Source, ids: readonly number[]): Promise<RawOutput> => src.run({argv: progDumpArgv(ids), timeoutMs: 60_000})

/** A program the helper could not read: `missing` (unloaded meanwhile), `permission`, `bpf` (another errno). */
export interface ProgDumpError {
  id: number
  kind: string
  message: string
}

export interface ProgDumpFacts {
  programs: XlatedProgram[]
  errors: ProgDumpError[]
  /** Set when the output as a whole is not a usable answer (the helper's error, another helper's output). */
  unusable?: string
}

const ltrim = (s: string): string => s.replace(/^[ \t\n\v\f\r]+/, '')

/**
 * e.g. `{"helper":"nodeinspect-bpf","version":1,"programs":[{"id":26307,"type":3,"name":"nit_redirect","tag":"7f16fef3e2233c69",
 * "jited_ksyms":1,"map_ids":[],"insns":["bf16000000000000","85000000105da000",…],"calls":[{"pc":1,"sym":"bpf_get_hash_recalc"}],
 * "line_info":[{"insn_off":0,"src":"int nit_redirect(struct __sk_buff *skb)"},…]},{"id":9,"error":"missing","errno":2,"message":"…"}],
 * "kallsyms":{"symbols":122000,"call_base":true}}`.
 * Source lines are attached as bpftool attaches them (libbpf's bpf_prog_linfo__lfind): to the instruction whose
 * slot a line-info record names, leading white space trimmed. The function prototype (`proto`) is not given.
 */
export function parseBpfHelperProgDump(text: string): Parsed<ProgDumpFacts> {
  const facts: ProgDumpFacts = {programs: [], errors: []}
  const {value, problem: p} = parseJson(PROG_DUMP_PROBE, text)
  if (p) return {facts: {...facts, unusable: p.message}, problems: [p]}
  const d = (value ?? {}) as Record<string, unknown>
  const unusable = (message: string): Parsed<ProgDumpFacts> => ({facts: {...facts, unusable: message}, problems: [problem(PROG_DUMP_PROBE, message)]})
  if (typeof d !== 'object' || Array.isArray(d)) return unusable('expected a JSON object')
  if (typeof d.error === 'string') return unusable(`helper error: ${d.error}`)
  if (d.helper !== 'nodeinspect-bpf' || d.version !== 1 || !Array.isArray(d.programs)) return unusable(`unknown helper output (helper ${rawJson(d.helper, 60)}, version ${rawJson(d.version, 60)})`)
  const problems: ParseProblem[] = []
  for (const v of d.programs) {
    const e = (v ?? {}) as Record<string, unknown>
    if (typeof e.id !== 'number' || !Number.isInteger(e.id)) {
      problems.push(problem(PROG_DUMP_PROBE, 'program entry lacks its id', undefined, rawJson(v)))
      continue
    }
    if (typeof e.error === 'string') {
      facts.errors.push({id: e.id, kind: e.error, message: typeof e.message === 'string' ? e.message : e.error})
      continue
    }
    if (!Array.isArray(e.insns)) {
      problems.push(problem(PROG_DUMP_PROBE, `program ${e.id}: no "insns" list`, undefined, rawJson(v)))
      continue
    }
    const prog: XlatedProgram = {id: e.id, insns: programInsns(e, problems)}
    if (typeof e.name === 'string') prog.name = e.name
    if (typeof e.tag === 'string') prog.tag = e.tag
    facts.programs.push(prog)
  }
  return {facts, problems}
}

function programInsns(e: Record<string, unknown>, problems: ParseProblem[]): XlatedInsn[] {
  const id = e.id as number
  const raws: Array<RawInsn | undefined> = (e.insns as unknown[]).map((h) => (typeof h === 'string' ? rawInsnFromHex(h) : undefined))
  const sym = new Map<number, string>()
  for (const c of Array.isArray(e.calls) ? e.calls : []) {
    const call = (c ?? {}) as Record<string, unknown>
    if (typeof call.pc === 'number' && typeof call.sym === 'string') sym.set(call.pc, call.sym)
    else problems.push(problem(PROG_DUMP_PROBE, `program ${id}: call entry lacks pc or sym`, undefined, rawJson(c)))
  }
  const srcAt = new Map<number, string>()
  for (const l of Array.isArray(e.line_info) ? e.line_info : []) {
    const li = (l ?? {}) as Record<string, unknown>
    if (typeof li.insn_off === 'number' && typeof li.src === 'string') srcAt.set(li.insn_off, ltrim(li.src))
  }
  if (typeof e.line_info_error === 'string') problems.push(problem(PROG_DUMP_PROBE, `program ${id}: source lines not read: ${e.line_info_error}`))
  const calls = {sym, jitedKsyms: typeof e.jited_ksyms === 'number' ? e.jited_ksyms : 0}
  const out: XlatedInsn[] = []
  for (let pc = 0; pc < raws.length; pc++) {
    const raw = raws[pc]
    if (!raw) {
      problems.push(problem(PROG_DUMP_PROBE, `program ${id}: instruction ${pc} is not 16 hex digits`, undefined, rawJson((e.insns as unknown[])[pc])))
      continue
    }
    const next = raw.code === 0x18 ? raws[pc + 1] : undefined
    const disasm = formatXlatedInsn(raw, next, pc, calls)
    const decoded = decodeXlatedDisasm(disasm, pc)
    const op = refineWithFields(decoded.op, raw)
    const insn: XlatedInsn = {pc, disasm, op}
    if (decoded.code !== undefined) insn.code = decoded.code
    const src = srcAt.get(pc)
    if (src !== undefined) insn.src = src
    if (op.kind === 'unknown') problems.push(problem(PROG_DUMP_PROBE, `program ${id}: pc ${pc}: instruction not decoded`, undefined, disasm))
    out.push(insn)
    // A 64-bit immediate load takes this slot and the next; bpftool prints it once.
    if (raw.code === 0x18) pc++
  }
  return out
}

/** The helper's per-program errors as warnings, one per kind (`missing` = unloaded between listing and reading). */
export function progDumpWarnings(errors: readonly ProgDumpError[]): Warning[] {
  const byKind = new Map<string, ProgDumpError[]>()
  for (const e of errors) byKind.set(e.kind, [...(byKind.get(e.kind) ?? []), e])
  return [...byKind].map(([kind, es]) => ({
    probe: PROG_DUMP_PROBE,
    kind: kind === 'permission' ? 'permission' : 'exit',
    message: es.length === 1 ? es[0]!.message : `${es.length} programs not read (${kind}): ${es.slice(0, 3).map((x) => x.message).join('; ')}${es.length > 3 ? '; …' : ''}`,
  }))
}
