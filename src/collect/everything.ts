import type {Warning} from '../model/warning.js'
import type {Source} from '../source/types.js'
import {collectMarksInputs} from './marks-inputs.js'
import {collectNodeFacts} from './trace-inputs.js'

/**
 * Runs every collector an inspection command may need, so a snapshot answers all of them offline.
 * A new command's collector is added here.
 */
export async function collectEverything(src: Source): Promise<Warning[]> {
  // marks reads everything hooks reads; trace adds full rules, Cilium's maps, program code, FDB and pods.
  const [marks, trace] = await Promise.all([collectMarksInputs(src), collectNodeFacts(src)])
  return [...new Map([...marks.warnings, ...trace.warnings].map((w) => [w.message, w])).values()]
}
