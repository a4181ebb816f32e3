import type {ParseProblem, Warning} from '../model/warning.js'
import {MAX_PROBLEMS_PER_PROBE, moreProblemsText, problemText} from './run-probes.js'

/**
 * Warnings that arise after a node's state is built: the parse problems of iptables rules built only when a
 * reader first reads their chain (IptablesSaveOptions.lazy). Held until `attach` names the node's warning list,
 * then pushed there as they come, so a trace's output lists the problems of every rule its walk read.
 */
export class LateWarnings {
  private target: Warning[] | undefined
  private readonly held: Warning[] = []
  private readonly shown = new Map<string, number>()
  /** The "N more" line of each probe, updated in place. */
  private readonly more = new Map<string, Warning>()

  problem(p: ParseProblem): void {
    const n = (this.shown.get(p.probe) ?? 0) + 1
    this.shown.set(p.probe, n)
    // As run-probes.ts's take(): a probe's first problems are shown, the rest counted.
    if (n <= MAX_PROBLEMS_PER_PROBE) {
      this.push({probe: p.probe, kind: 'parse', message: problemText(p)})
      return
    }
    const extra = n - MAX_PROBLEMS_PER_PROBE
    const w = this.more.get(p.probe)
    if (w) w.message = moreProblemsText(p.probe, extra)
    else {
      const m: Warning = {probe: p.probe, kind: 'parse', message: moreProblemsText(p.probe, extra)}
      this.more.set(p.probe, m)
      this.push(m)
    }
  }

  attach(warnings: Warning[]): void {
    warnings.push(...this.held)
    this.held.length = 0
    this.target = warnings
  }

  private push(w: Warning): void {
    ;(this.target ?? this.held).push(w)
  }
}
