/** How a probe can fail, and what a parser reports instead of throwing: carried inside every report. */

/** Why a run did not give usable output. Absent on success (exit 0, or an accepted exit code). */
export type RunFailure =
  | 'missing-binary' // ENOENT on spawn: the tool is not installed
  | 'permission' // EPERM/EACCES, or the tool said "Operation not permitted"
  | 'timeout' // killed after the runner's timeout
  | 'exit' // the tool ran and exited non-zero
  | 'spawn' // any other spawn error
  | 'not-recorded' // SnapshotSource: the snapshot holds no output for this command

/** Something a parser could not understand. Parsers never throw on the node's data: they report this. */
export interface ParseProblem {
  /** Which probe's output, e.g. 'bpftool -j net show'. */
  probe: string
  /** 1-based line of the input where known. */
  line?: number
  message: string
  /** The offending text, cut to 200 characters. */
  raw?: string
}

export interface Parsed<T> {
  facts: T
  problems: ParseProblem[]
}

/** A degraded probe, carried inside every report (oclif's warn() is silent under --json). */
export interface Warning {
  probe: string
  kind: RunFailure | 'parse' | 'unsupported'
  message: string
}
