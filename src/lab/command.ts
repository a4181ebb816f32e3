/**
 * Base of the `lab` commands: the project's one-line errors (BaseCommand, src/cli/error-report.ts), with the
 * lab's exit codes: 2 for what the user can fix (bad --prefix, not root, missing tools or flags), 1 for a lab
 * step that failed, which --json names as {"error":{"message","exit","step"}}.
 */
import {BaseCommand} from '../cli/base-command.js'
import {type ErrorReport, oneLine} from '../cli/error-report.js'
import {UserError} from '../errors.js'
import {LabError} from './exec.js'

export abstract class LabCommand extends BaseCommand {
  protected override describeError(err: unknown): ErrorReport {
    if (err instanceof LabError) return {message: oneLine(err.message), exit: 1, step: err.step}
    return super.describeError(err)
  }
}

/** lab up/down change the system: refuse early, in one line, without root. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new UserError(`${what} must run as root: it creates or deletes network namespaces, mounts a bpffs and loads BPF programs`)
}
