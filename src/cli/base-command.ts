import {format} from 'node:util'
import {Command, Flags} from '@oclif/core'
import {UserError} from '../errors.js'
import {debugEnabled, describeError, type ErrorReport, isExitSignal, writeError} from './error-report.js'
import {printableOutput} from '../util/printable.js'

/** Flags every inspection command shares: where the facts come from. */
export const sourceFlags = {
  netns: Flags.string({description: 'inspect inside this named network namespace (from `ip netns list`), e.g. a lab node', exclusive: ['snapshot']}),
  snapshot: Flags.string({description: 'answer offline from a file written by `nodeinspect snapshot`', exclusive: ['netns']}),
  // No flag default: a --timeout given applies to every tool, even the dumps that ask for longer (LiveSource).
  timeout: Flags.integer({description: 'per-tool timeout in milliseconds, for every tool (default: 20000; slow dumps such as iptables-save get longer)', min: 100}),
}

/** No argument nodeinspect takes is longer than a path (PATH_MAX, 4096 bytes with its NUL). */
const MAX_ARG_LENGTH = 4095

/**
 * One-line errors for every failure (src/cli/error-report.ts): exit 2 for the user's mistakes, 1 for the rest,
 * and under --json the error as JSON on stdout too.
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    ...Command.baseFlags,
    'no-color': Flags.boolean({description: 'plain text, no colour (so are NO_COLOR=1, TERM=dumb and any stdout that is not a terminal)', helpGroup: 'GLOBAL'}),
  }

  // Everything printed goes through the printable guard (src/util/printable.ts): the renderers already made the
  // node's strings printable, and this is the last stop before the terminal.
  override log(message = '', ...args: unknown[]): void {
    super.log(printableOutput(format(message, ...args)))
  }

  override logToStderr(message = '', ...args: unknown[]): void {
    super.logToStderr(printableOutput(format(message, ...args)))
  }

  override async init(): Promise<void> {
    await super.init()
    // Before oclif parses anything: a 40,000-character flag is a pasted file or a runaway expansion, never a value.
    const i = this.argv.findIndex((a) => a.length > MAX_ARG_LENGTH)
    if (i === -1) return
    const a = this.argv[i]!
    const prev = this.argv[i - 1]
    const takesValue = (f: string | undefined): boolean =>
      f !== undefined && /^-/.test(f) && Object.entries(this.ctor.flags ?? {}).some(([name, def]) => def.type === 'option' && (f === `--${name}` || f === `-${def.char}`))
    const eq = /^--?[\w-]+=/.test(a) ? a.indexOf('=') : -1
    const what = eq !== -1 ? `the value of ${a.slice(0, eq)}` : takesValue(prev) ? `the value of ${prev}` : `argument ${i + 1}`
    throw new UserError(`${what} is ${a.length - eq - 1} characters long: no ${this.config.bin} argument or flag value is longer than ${MAX_ARG_LENGTH} (PATH_MAX)`)
  }

  /** Lab commands add their own errors (a failed step). */
  protected describeError(err: unknown): ErrorReport {
    return describeError(err, this.config.bin)
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    if (isExitSignal(err)) throw err
    if (debugEnabled() && err.stack) process.stderr.write(`${err.stack}\n`)
    const r = this.describeError(err)
    writeError(r, this.jsonEnabled(), this.config.bin)
    return this.exit(r.exit)
  }
}
