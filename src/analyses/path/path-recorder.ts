import type {NodeState} from '../../model/node-state.js'
import type {Evidence, HookTable, OutcomeKind, PathStep, StepKind, StepProgram, StepRule, TraceOutcome, VerdictKind} from '../../model/path.js'
import type {Warning} from '../../model/warning.js'
import {compact} from '../../util/compact.js'
import type {Packet} from './packet.js'

/** One step as the walk describes it: the recorder numbers it and copies the packet as it is after the step. */
export interface StepInput {
  kind: StepKind
  where: PathStep['where']
  what: string
  verdict: string
  verdictKind: VerdictKind
  pkt: Packet
  evidence: Evidence
  details: string[]
  program?: StepProgram
  rules?: StepRule[]
  tables?: HookTable[]
  branches?: string[]
}

/** The path as it is walked: its steps, the first outcome reached, and what could not be seen. */
export class PathRecorder {
  readonly steps: PathStep[] = []
  readonly unseen: string[] = []
  readonly warnings: Warning[] = []
  outcome?: TraceOutcome

  /** The first outcome wins: later ones (a walk unwinding) do not overwrite it. */
  end(kind: OutcomeKind, text: string): void {
    if (!this.outcome) this.outcome = compact({kind, step: this.steps.length ? this.steps[this.steps.length - 1]!.n : undefined, text})
  }

  /** A detail for the last step (an assumption or a lookup that belongs to it). */
  note(s: string): void {
    const last = this.steps[this.steps.length - 1]
    if (last) last.details.push(s)
  }

  push(node: NodeState, s: StepInput): PathStep {
    const step: PathStep = compact({
      n: this.steps.length + 1,
      node: node.label,
      netns: node.meta.netns,
      where: compact({...s.where}),
      kind: s.kind,
      what: s.what,
      program: s.program,
      rules: s.rules && s.rules.length ? s.rules : undefined,
      verdict: s.verdict,
      verdictKind: s.verdictKind,
      tuple: {...s.pkt.tuple},
      outer: s.pkt.outer ? {...s.pkt.outer} : undefined,
      mark: s.pkt.mark >>> 0,
      markUnknown: s.pkt.markUnknown ? s.pkt.markUnknown >>> 0 : undefined,
      ct: s.pkt.ct ? {...s.pkt.ct, ...(s.pkt.ct.nat ? {nat: {...s.pkt.ct.nat}} : {}), ...(s.pkt.ct.natSetUp ? {natSetUp: {...s.pkt.ct.natSetUp}} : {})} : undefined,
      tables: s.tables && s.tables.length ? s.tables : undefined,
      evidence: s.evidence,
      details: s.details,
      branches: s.branches && s.branches.length ? s.branches : undefined,
    })
    this.steps.push(step)
    return step
  }
}
