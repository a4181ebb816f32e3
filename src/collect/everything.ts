import type {Warning} from '../probes/parsed.js'
import type {Source} from '../source/types.js'
import {collectHooksInputs} from './hooks-inputs.js'

/**
 * Runs every collector an inspection command may need, so a snapshot answers all of them offline.
 * A new command's collector is added here.
 */
export async function collectEverything(src: Source): Promise<Warning[]> {
  const results = await Promise.all([collectHooksInputs(src)])
  return results.flatMap((r) => r.warnings)
}
