import {summariseProgram} from '../bpf/interpreter.js'
import type {ProgramSummary} from '../model/program-summary.js'
import type {Warning} from '../model/warning.js'
import {collectBpftoolXlated, parseBpftoolXlatedDumps} from '../probes/bpftool-xlated.js'
import type {Source} from '../source/types.js'

/**
 * Read the translated code of these programs (one `bpftool prog dump xlated` per shared name, bounded
 * parallelism) and summarise what each does: helpers, tail calls, mark reads and writes.
 */
export async function readProgramCode(src: Source, progs: ReadonlyArray<{id: number; name?: string}>, markOffset: number, into: Map<number, ProgramSummary>, warnings: Warning[], opts: {quietNotRecorded?: boolean} = {}): Promise<void> {
  if (progs.length === 0) return
  const dumps = parseBpftoolXlatedDumps(await collectBpftoolXlated(src, progs))
  for (const w of dumps.warnings) if (!(opts.quietNotRecorded && w.kind === 'not-recorded')) warnings.push(w)
  for (const d of dumps.programs) if (d.id !== undefined && !into.has(d.id)) into.set(d.id, summariseProgram(d.insns, {markOffset}))
}
