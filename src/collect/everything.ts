import type {Warning} from '../probes/parsed.js'
import type {Source} from '../source/types.js'
import {collectMarksInputs} from './marks-inputs.js'

/**
 * Runs every collector an inspection command may need, so a snapshot answers all of them offline.
 * A new command's collector is added here.
 */
export async function collectEverything(src: Source): Promise<Warning[]> {
  // marks reads everything hooks reads, and more.
  const results = await Promise.all([collectMarksInputs(src)])
  return results.flatMap((r) => r.warnings)
}
