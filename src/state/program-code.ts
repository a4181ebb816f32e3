import {summariseProgram} from '../bpf/interpreter.js'
import type {ProgramSummary} from '../model/program-summary.js'
import type {Warning} from '../model/warning.js'
import type {XlatedInsn} from '../model/xlated.js'
import {collectBpfHelperProgDump, parseBpfHelperProgDump, PROG_DUMP_PROBE, progDumpWarnings} from '../probes/bpf-helper-prog-dump.js'
import {collectBpftoolXlated, parseBpftoolXlatedDumps} from '../probes/bpftool-xlated.js'
import type {Source} from '../source/types.js'

/**
 * Read the translated code of these programs and summarise what each does: helpers, tail calls, mark reads and
 * writes. The helper (`nodeinspect-bpf prog-dump`) reads them all in one process; without it (not built, too
 * old, or it failed) bpftool does, one `bpftool prog dump xlated` per shared name or id (bounded parallelism),
 * and a warning says so. A snapshot taken before the helper could dump programs holds bpftool's output: replay
 * reads that, without a warning.
 */
export async function readProgramCode(src: Source, progs: ReadonlyArray<{id: number; name?: string}>, markOffset: number, into: Map<number, ProgramSummary>, warnings: Warning[], opts: {quietNotRecorded?: boolean} = {}): Promise<void> {
  if (progs.length === 0) return
  const fromHelper = await readWithHelper(src, progs.map((p) => p.id), warnings)
  const programs = fromHelper ?? (await readWithBpftool(src, progs, warnings, opts))
  for (const d of programs) if (!into.has(d.id)) into.set(d.id, summariseProgram(d.insns, {markOffset}))
}

type Programs = Array<{id: number; insns: XlatedInsn[]}>

/** The helper's answer, or undefined when bpftool must answer instead (a warning says why, unless replaying an older snapshot). */
async function readWithHelper(src: Source, ids: number[], warnings: Warning[]): Promise<Programs | undefined> {
  const out = await collectBpfHelperProgDump(src, ids)
  if (out.failure === 'not-recorded') return undefined
  // A helper built before `prog-dump` existed answers "unknown subcommand" (exit 2): as good as missing.
  const oldHelper = out.failure === 'exit' && /unknown subcommand/.test(out.stdout + out.stderr)
  const parsed = out.failure ? undefined : parseBpfHelperProgDump(out.stdout)
  if (parsed && parsed.facts.unusable === undefined) {
    warnings.push(...progDumpWarnings(parsed.facts.errors))
    return parsed.facts.programs.map((p) => ({id: p.id!, insns: p.insns})).sort((a, b) => a.id - b.id)
  }
  const why = out.failure === 'missing-binary' || oldHelper
    ? `the nodeinspect-bpf helper is not built${oldHelper ? ' with prog-dump (an older build)' : ''} (npm run build needs gcc)`
    : (parsed?.facts.unusable ?? out.message ?? `${PROG_DUMP_PROBE}: failed`)
  warnings.push({probe: PROG_DUMP_PROBE, kind: out.failure ?? 'parse', message: `program code: ${why}: read with bpftool instead (one process per program or shared name, ${ids.length} program${ids.length === 1 ? '' : 's'})`})
  return undefined
}

async function readWithBpftool(src: Source, progs: ReadonlyArray<{id: number; name?: string}>, warnings: Warning[], opts: {quietNotRecorded?: boolean}): Promise<Programs> {
  const dumps = parseBpftoolXlatedDumps(await collectBpftoolXlated(src, progs))
  for (const w of dumps.warnings) if (!(opts.quietNotRecorded && w.kind === 'not-recorded')) warnings.push(w)
  return dumps.programs
}
