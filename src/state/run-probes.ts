import type {Parsed, ParseProblem, Warning} from '../model/warning.js'
import {probeLabel, type ProbeDescriptor} from '../probes/descriptor.js'
import type {RawOutput, Source} from '../source/types.js'

export const MAX_PROBLEMS_PER_PROBE = 5

// biome-ignore lint/suspicious/noExplicitAny: a set of probes of any fact types
type ProbeSet = Record<string, ProbeDescriptor<any> | undefined>

/** The facts of each probe of a set, by the same keys. A probe left out of the set (undefined) gives its empty facts. */
type FactsOf<S extends ProbeSet> = {[K in keyof S]: S[K] extends ProbeDescriptor<infer T> ? T : S[K] extends ProbeDescriptor<infer T> | undefined ? T | undefined : never}

export interface ProbeRun<S extends ProbeSet> {
  facts: FactsOf<S>
  /** Each probe's raw output (absent for a probe left out), for what a command says it could read. */
  outputs: {[K in keyof S]: RawOutput | undefined}
  warnings: Warning[]
}

/**
 * Run a set of probes in parallel through one Source and parse each: a failed run or parse problems become
 * warnings (named by the probe's command line) and that probe's empty facts; the rest still comes.
 */
export async function runProbes<S extends ProbeSet>(src: Source, set: S): Promise<ProbeRun<S>> {
  const keys = Object.keys(set) as Array<keyof S & string>
  const outs = await Promise.all(keys.map((k) => (set[k] ? src.run(set[k]!.request) : undefined)))
  const warnings: Warning[] = []
  const facts = {} as Record<string, unknown>
  const outputs = {} as Record<string, RawOutput | undefined>
  keys.forEach((k, i) => {
    const d = set[k]
    outputs[k] = outs[i]
    facts[k] = d ? take(probeLabel(d), outs[i], (o) => d.parse(o), d.empty, warnings) : undefined
  })
  return {facts: facts as FactsOf<S>, outputs: outputs as ProbeRun<S>['outputs'], warnings}
}

/**
 * Turn one probe's raw output into facts, degrading instead of failing: a failed run or parse problems become
 * warnings in the result, and the rest of the answer still comes. For probes whose command depends on an
 * earlier answer (tc's batch of devices, the namespaces to read), which runProbes cannot declare up front.
 */
export function take<T>(probe: string, out: RawOutput | undefined, parse: (o: RawOutput) => Parsed<T>, empty: T, warnings: Warning[]): T {
  if (!out) return empty
  if (out.failure) {
    warnings.push({probe, kind: out.failure, message: out.message ?? `${probe}: failed`})
    return empty
  }
  const parsed = parse(out)
  const shown = parsed.problems.slice(0, MAX_PROBLEMS_PER_PROBE)
  for (const p of shown) warnings.push({probe, kind: 'parse', message: problemText(p)})
  if (parsed.problems.length > shown.length) warnings.push({probe, kind: 'parse', message: moreProblemsText(probe, parsed.problems.length - shown.length)})
  return parsed.facts
}

/** A parse problem as a warning says it: `iptables-save:12: bad mark value`. */
export function problemText(p: ParseProblem): string {
  return `${p.probe}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`
}

/** The line standing for a probe's problems beyond MAX_PROBLEMS_PER_PROBE. */
export function moreProblemsText(probe: string, n: number): string {
  return `${probe}: ${n} more parse problems not shown`
}
