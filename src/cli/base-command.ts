import {Command, Flags} from '@oclif/core'
import {NodeUnreadableError, UserError} from '../errors.js'
import {LiveSource} from '../source/live.js'
import {loadSnapshot, SnapshotSource} from '../source/snapshot.js'
import type {Source} from '../source/types.js'

/** Flags every inspection command shares: where the facts come from. */
export const sourceFlags = {
  netns: Flags.string({description: 'inspect inside this named network namespace (from `ip netns list`), e.g. a lab node', exclusive: ['snapshot']}),
  snapshot: Flags.string({description: 'answer offline from a file written by `nodeinspect snapshot`', exclusive: ['netns']}),
  timeout: Flags.integer({description: 'per-tool timeout in milliseconds', min: 100, default: 20_000}),
}

export async function sourceFrom(flags: {netns?: string; snapshot?: string; timeout?: number}): Promise<Source> {
  if (flags.snapshot !== undefined) return new SnapshotSource(await loadSnapshot(flags.snapshot), flags.snapshot)
  return new LiveSource({netns: flags.netns, timeoutMs: flags.timeout})
}

/** One-line errors for the user's mistakes (exit 2); an unexpected failure is one line too, the stack only with DEBUG. */
export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    // this.exit() and --help/--version travel as errors too: let oclif finish them.
    if (err.code === 'EEXIT' || err.oclif?.exit === 0) throw err
    const debug = /nodeinspect/.test(process.env.DEBUG ?? '')
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`)
    let message: string
    let code: number
    if (err instanceof UserError || err instanceof NodeUnreadableError) {
      message = err.message
      code = err.exitCode
    } else if (err.oclif) {
      // A flag or argument error from oclif's parser: its first line says it; the rest is help boilerplate.
      const lines = err.message
        .split('\n')
        .map((l) => l.replace(/^[\s›]+/, '').trim())
        .filter((l) => l !== '' && !/^The following errors occurred/.test(l) && !/^See more help with/.test(l))
      message = lines.join('; ') || err.message
      code = 2
    } else {
      message = `internal error: ${err.message}${debug ? '' : ' (set DEBUG=nodeinspect:* for the stack)'}`
      code = 1
    }
    process.stderr.write(`nodeinspect: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
    return this.exit(code)
  }
}
