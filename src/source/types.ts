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
  /**
   * Prints megabytes that are parsed as they come (iptables-save: 16 MB at 110k rules): a live source runs it with
   * a deep output buffer (spawn-spec.ts), so the tool never waits while the reader pauses. Not part of any key.
   */
  deepOutput?: boolean
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

/** Receives a tool's standard output piece by piece; pieces end anywhere, mid-line included. */
export type StdoutSink = (chunk: string) => void

export interface Source {
  readonly meta: SourceMeta
  run(req: RunRequest): Promise<RawOutput>
  /**
   * `run`, handing standard output to `onChunk` as it comes: a live source as the tool prints it, a snapshot its
   * recorded text. The result's stdout: from a live source only its first STREAMED_HEAD_CHARS (run-command.ts; the
   * whole went to `onChunk`), from a snapshot or a recording the whole text (a recording keeps its own copy).
   * Optional: runStreaming falls back to `run` for a source without it.
   */
  stream?(req: RunRequest, onChunk: StdoutSink): Promise<RawOutput>
}

/**
 * Run through `src`, giving stdout to `onChunk` as it arrives where the source can stream, else all at once
 * when the run ends. `onChunk` sees the output whether or not the run failed: the caller looks at `failure`.
 */
export async function runStreaming(src: Source, req: RunRequest, onChunk: StdoutSink): Promise<RawOutput> {
  if (src.stream) return src.stream(req, onChunk)
  const out = await src.run(req)
  if (out.stdout !== '') onChunk(out.stdout)
  return out
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
