/**
 * What every `lab up` (the Cilium lab and the CNI variants) does around its build: holds the lab lock, marks every
 * process it starts as the lab's (so `lab down` finds them even after a SIGKILL), refuses a lab that is up (unless
 * rebuild), tears down leftovers of the same prefix first, and on any failure tears everything down and throws a
 * LabError naming the step.
 */
import {UserError} from '../errors.js'
import {LabError} from './exec.js'
import {acquireLabLock} from './lock.js'
import {labStatus} from './status.js'
import {LAB_OWNER_ENV, labDownLocked} from './teardown.js'

export async function guardedLabUp<S>(prefix: string, opts: {rebuild?: boolean; onStep?: (step: string) => void}, build: () => Promise<S>): Promise<S> {
  const release = acquireLabLock(prefix, 'up')
  // Every process this run starts (compilers, ip, tc, the listeners and their children) inherits the owner mark,
  // so `lab down` finds the ones a killed `lab up` orphaned, wherever they are.
  const ownerBefore = process.env[LAB_OWNER_ENV]
  process.env[LAB_OWNER_ENV] = prefix
  try {
    // A healthy lab is not rebuilt behind its user's back; leftovers of a broken or unfinished one are.
    const current = labStatus(prefix)
    if (current.up && !opts.rebuild)
      throw new UserError(`lab up: lab ${prefix} is already up (since ${current.state.createdAt}, variant ${current.state.variant}); use --rebuild to build it anew, or \`lab down\` first`)

    opts.onStep?.('teardown leftovers')
    await labDownLocked(prefix)

    try {
      return await build()
    } catch (e) {
      const err = e instanceof LabError || e instanceof UserError ? e : new LabError('unexpected', `unexpected: ${(e as Error).message}`)
      try {
        await labDownLocked(prefix)
      } catch (down) {
        throw new LabError(err instanceof LabError ? err.step : 'unexpected', `${err.message}; teardown also failed: ${(down as Error).message}`)
      }
      throw err
    }
  } finally {
    if (ownerBefore === undefined) delete process.env[LAB_OWNER_ENV]
    else process.env[LAB_OWNER_ENV] = ownerBefore
    release()
  }
}
