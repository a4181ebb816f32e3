/**
 * Base of the `lab` commands: one-line errors like the project's BaseCommand, with the lab's exit codes:
 * 2 for what the user can fix (bad --prefix, not root, missing tools or flags), 1 for a lab step that
 * failed. With --json the error is also printed as {"error":{"message","exit","step"?}} on stdout.
 */
import {format} from 'node:util'
import {Command} from '@oclif/core'
import {UserError} from '../errors.js'
import {printable, printableOutput} from '../util/printable.js'
import {LabError} from './exec.js'

export abstract class LabCommand extends Command {
  // Lab state quotes tools' output too: the same last guard as BaseCommand's.
  override log(message = '', ...args: unknown[]): void {
    super.log(printableOutput(format(message, ...args)))
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    if (err.code === 'EEXIT' || err.oclif?.exit === 0) throw err
    let message: string
    let exit: number
    let step: string | undefined
    if (err instanceof UserError) {
      message = err.message
      exit = 2
    } else if (err instanceof LabError) {
      message = err.message
      exit = 1
      step = err.step
    } else if (err.oclif) {
      // oclif's parser: keep the first meaningful lines, drop the help boilerplate.
      message =
        err.message
          .split('\n')
          .map((l) => l.replace(/^[\s›]+/, '').trim())
          .filter((l) => l !== '' && !/^See more help with/.test(l))
          .join('; ') || err.message
      exit = err.oclif.exit ?? 2
    } else {
      message = `internal error: ${err.message}`
      exit = 1
      if (/nodeinspect/.test(process.env.DEBUG ?? '') && err.stack) process.stderr.write(`${err.stack}\n`)
    }
    message = message.replace(/\s*\n\s*/g, ' ')
    if (this.jsonEnabled()) this.logJson({error: {message, exit, ...(step ? {step} : {})}})
    process.stderr.write(`nodeinspect: ${printable(message)}\n`) // a step's error can quote a tool's output
    return this.exit(exit)
  }
}

/** lab up/down change the system: refuse early, in one line, without root. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new UserError(`${what} must run as root: it creates or deletes network namespaces, mounts a bpffs and loads BPF programs`)
}
