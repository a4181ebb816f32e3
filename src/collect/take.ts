import type {Parsed, Warning} from '../model/warning.js'
import type {RawOutput} from '../source/types.js'

const MAX_PROBLEMS_PER_PROBE = 5

/**
 * Turn one probe's raw output into facts, degrading instead of failing: a failed run or parse problems become
 * warnings in the result, and the rest of the answer still comes.
 */
export function take<T>(probe: string, out: RawOutput | undefined, parse: (o: RawOutput) => Parsed<T>, empty: T, warnings: Warning[]): T {
  if (!out) return empty
  if (out.failure) {
    warnings.push({probe, kind: out.failure, message: out.message ?? `${probe}: failed`})
    return empty
  }
  const parsed = parse(out)
  const shown = parsed.problems.slice(0, MAX_PROBLEMS_PER_PROBE)
  for (const p of shown) warnings.push({probe, kind: 'parse', message: `${p.probe}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`})
  if (parsed.problems.length > shown.length) warnings.push({probe, kind: 'parse', message: `${probe}: ${parsed.problems.length - shown.length} more parse problems not shown`})
  return parsed.facts
}
