import type {SourceRead} from '../model/node-state.js'
import type {RawOutput} from '../source/types.js'

/** What a run says about its source: its failure message, or nothing when it ran. */
export function sourceRead(probe: string, out: RawOutput | undefined): SourceRead {
  if (!out) return {probe, failure: `${probe}: not run`}
  return out.failure ? {probe, failure: out.message ?? `${probe}: failed`} : {probe}
}
