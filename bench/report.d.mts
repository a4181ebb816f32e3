/** Types of report.mjs, for the tests that import it. */
interface MeasuredCommand {
  id: string
  label: string
  wallS: number[]
  rssKB: number[]
  errors: string[]
}
interface ExecCount {
  id: string
  label: string
  execs: number
  byProgram: Record<string, number>
  error?: string
}
interface Budget {
  text: string
  kind: 'time' | 'absolute' | 'growth' | 'rss' | 'constant'
  subject: string
  anchor?: string
  value?: number
  against?: number
  ratio?: number
  limit?: number
  pass: boolean
  result: 'PASS' | 'FAIL'
  error?: string
  note?: string
}
export declare class Budgets {
  constructor(commands: MeasuredCommand[], counts: ExecCount[])
  readonly list: Budget[]
  readonly met: number
  readonly missed: number
  time(o: {text: string; subject: string; anchor: string; factor: number; plusS?: number; plusCmd?: string}): void
  absolute(o: {text: string; subject: string; limitS: number}): void
  growth(o: {text: string; small: string; large: string; factor: number}): void
  rss(o: {text: string; subject: string; limitMB: number}): void
  constant(o: {text: string; small: string; large: string}): void
}
export declare function machine(): Record<string, unknown>
export declare function renderResults(results: unknown): string
