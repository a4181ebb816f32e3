import type {PathStep, TraceOutcome} from '../../model/path.js'
import type {TraceReport} from '../path/trace.js'
import {withoutIds} from './multiset.js'

/** One step as the diff shows it: where, what, the verdict, the mark after it. */
export interface DiffStep {
  n: number
  node: string
  where: string
  what: string
  verdict: string
  mark: number
  evidence: PathStep['evidence']
}

export interface PathDiff {
  /** Whether the walk is the same step for step (program ids and rule positions aside). */
  same: boolean
  /** The first step that differs; a side without a step there had already ended. */
  firstDifference?: {step: number; before?: DiffStep; after?: DiffStep}
  before: TraceOutcome
  after: TraceOutcome
}

function whereOf(s: PathStep): string {
  const w = s.where
  return [w.inPod ? `pod ${w.inPod}` : undefined, w.device, w.hook].filter(Boolean).join(' · ')
}

function stepOf(s: PathStep): DiffStep {
  return {n: s.n, node: s.node, where: whereOf(s), what: s.what, verdict: s.verdict, mark: s.mark, evidence: s.evidence}
}

/** What a step means for the packet: the same hook, program or rules, verdict and packet after it. */
function meaning(s: PathStep): string {
  const t = s.tuple
  return withoutIds(
    [s.node, s.kind, whereOf(s), s.program?.attachName ?? s.program?.name ?? '', s.what, (s.rules ?? []).map((r) => `${r.table}/${r.chain} ${r.raw} ${r.action}`).join(' | '), s.verdictKind, s.verdict, s.mark, s.markUnknown ?? '', `${t.src}:${t.sport ?? ''}>${t.dst}:${t.dport ?? ''}`].join('\u0000'),
  )
}

/** Where the flow's walk differs between the two nodes: the first step that does, and both outcomes. */
export function diffPaths(a: TraceReport, b: TraceReport): PathDiff {
  const n = Math.max(a.steps.length, b.steps.length)
  for (let i = 0; i < n; i++) {
    const x = a.steps[i]
    const y = b.steps[i]
    if (x && y && meaning(x) === meaning(y)) continue
    const firstDifference: PathDiff['firstDifference'] = {step: i + 1}
    if (x) firstDifference.before = stepOf(x)
    if (y) firstDifference.after = stepOf(y)
    return {same: false, firstDifference, before: a.outcome, after: b.outcome}
  }
  const same = a.outcome.kind === b.outcome.kind && withoutIds(a.outcome.text) === withoutIds(b.outcome.text)
  return {same, before: a.outcome, after: b.outcome}
}
