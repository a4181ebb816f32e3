import type {Parsed} from '../model/warning.js'
import {commandLine, type RawOutput, type RunRequest} from '../source/types.js'

/**
 * One probe as data: the command it runs and the pure parser of its output. `runProbes` (src/state/run-probes.ts)
 * runs any set of them through a Source; adding a probe to a command is one descriptor in its probe set.
 */
export interface ProbeDescriptor<T> {
  /** The command, its standard input, timeout and accepted exit codes. */
  request: RunRequest
  /** The facts when the probe failed or is not recorded: an empty answer that says nothing. */
  empty: T
  parse(out: RawOutput): Parsed<T>
  /** How warnings name it; by default its command line. */
  label?: string
}

/** A descriptor whose parser reads standard output only, the common case. */
export function probe<T>(request: RunRequest, parse: (stdout: string) => Parsed<T>, empty: T, label?: string): ProbeDescriptor<T> {
  return {request, empty, parse: (o) => parse(o.stdout), ...(label !== undefined ? {label} : {})}
}

export function probeLabel(d: ProbeDescriptor<unknown>): string {
  return d.label ?? commandLine(d.request.argv)
}
