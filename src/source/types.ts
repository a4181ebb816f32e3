/**
 * The one seam between nodeinspect and the node: every probe asks a Source to run a tool.
 * LiveSource runs it (on the host or inside a named netns); SnapshotSource answers from a file.
 */
import type {RunFailure} from '../model/warning.js'
import type {SourceMeta} from '../model/node-meta.js'

export interface RunRequest {
  /** The logical command, e.g. ['bpftool', '-j', 'net', 'show']. Never a shell string. */
  argv: readonly string[]
  /** Standard input (e.g. a `tc -batch -` script). Part of the snapshot key. */
  input?: string
  timeoutMs?: number
  /** Exit codes that still count as success (e.g. `tc -force -batch` exits 1 when one command fails). */
  okExitCodes?: readonly number[]
}

export interface RawOutput {
  argv: string[]
  input?: string
  stdout: string
  stderr: string
  exitCode: number | null
  failure?: RunFailure
  /** One line, "context: cause", e.g. `bpftool -j net show: exit 255: can't query prog: Operation not permitted`. */
  message?: string
  durationMs: number
}

export interface Source {
  readonly meta: SourceMeta
  run(req: RunRequest): Promise<RawOutput>
}

/** The key a snapshot files an output under: the argv plus any standard input. */
export function runKey(argv: readonly string[], input?: string): string {
  return JSON.stringify(input === undefined ? [argv] : [argv, input])
}

export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')
}

/** Probes answered in-process (binary kernel data turned into text), recorded in snapshots like tools' output. */
export const INTERNAL = 'nodeinspect-internal'

/** What an in-process probe answers: a tool's output in all but the process. */
interface InternalAnswer {
  stdout: string
  stderr: string
  exitCode: number
}

/** The in-process probes a LiveSource can answer, by name (`nodeinspect-internal NAME ARGS…`). */
export type InternalProbes = Readonly<Record<string, (args: readonly string[]) => Promise<InternalAnswer>>>
