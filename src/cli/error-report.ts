/**
 * Every failure, whoever raised it (a command, oclif's parser, oclif's command lookup, the JSON printer),
 * ends the same way: one line `nodeinspect: <message>` on stderr, and under --json also
 * `{"error": {"message", "exit", "step"?}}` on stdout (docs/json-errors.md), then exit 2 for what the user
 * can fix and 1 for the rest. The stack only with DEBUG=nodeinspect:*.
 */
import {NodeUnreadableError, UserError} from '../errors.js'
import {printable} from '../util/printable.js'

export interface ErrorReport {
  /** One line, without the `nodeinspect:` prefix. */
  message: string
  /** The process exit code: 2 for the user's mistakes (flags, arguments, files), 1 for anything else. */
  exit: number
  /** `lab up`: the step that failed. */
  step?: string
}

/** An error line never runs on: a message quoting a huge input is cut here too. */
const MAX_LINE = 1000

type AnyError = Error & {oclif?: {exit?: number}; code?: string; args?: Array<{name?: string}>; exitCode?: unknown}

export function debugEnabled(): boolean {
  return /nodeinspect/.test(process.env.DEBUG ?? '')
}

/** this.exit(), --help and --version travel as errors too: they are no failure and must go through untouched. */
export function isExitSignal(err: unknown): boolean {
  const e = err as AnyError | undefined
  return e?.code === 'EEXIT' || e?.oclif?.exit === 0
}

export function describeError(err: unknown, bin = 'nodeinspect'): ErrorReport {
  const e = (err instanceof Error ? err : new Error(String(err))) as AnyError
  let message: string
  let exit: number
  if (e instanceof UserError) {
    message = e.message
    exit = 2
  } else if (e instanceof NodeUnreadableError) {
    // Nothing the command needs could be read: not the user's mistake, not a bug (exit 3, README).
    message = e.message
    exit = e.exitCode
  } else if (e.oclif) {
    message = oclifMessage(e, bin)
    exit = e.oclif.exit ?? 2
  } else {
    message = `internal error: ${e.message}${debugEnabled() ? '' : ` (set DEBUG=${bin}:* for the stack)`}`
    exit = 1
  }
  return {message: oneLine(message), exit}
}

/** oclif's parser and command lookup: keep what they say, drop the help boilerplate around it. */
function oclifMessage(e: AnyError, bin: string): string {
  const notFound = /^command (\S+) not found$/.exec(e.message)
  if (notFound) return `unknown command "${notFound[1]!.replace(/:/g, ' ')}" (see ${bin} --help)`
  if (/^Missing \d+ required arg/.test(e.message) && Array.isArray(e.args)) {
    const names = e.args.map((a) => a.name).filter((n): n is string => typeof n === 'string')
    const multi = /allows? multiple values/.test(e.message)
    return `missing required argument${names.length === 1 ? '' : 's'}: ${names.join(', ')}${
      multi ? ' (a flag that takes several values, such as --snapshot, also takes the words after it: give the arguments first, or after --)' : ''
    }`
  }
  const lines = e.message
    .split('\n')
    .map((l) => l.replace(/^[\s›]+/, '').trim())
    .filter((l) => l !== '' && !/^The following errors occurred/.test(l) && !/^See more help with/.test(l))
  return lines.join('; ') || e.message
}

/** Any message as one line, cut to a readable length. */
export function oneLine(s: string): string {
  const line = s.replace(/\s*\n\s*/g, ' ')
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line
}

/** `--json` before any `--`, as oclif's own jsonEnabled() reads it. */
export function jsonRequested(argv: readonly string[]): boolean {
  const j = argv.indexOf('--json')
  const dd = argv.indexOf('--')
  return j !== -1 && (dd === -1 || j < dd)
}

export function writeError(r: ErrorReport, json: boolean, bin = 'nodeinspect'): void {
  if (json) process.stdout.write(`${JSON.stringify({error: r}, null, 2)}\n`)
  // A message can quote a file name, a snapshot's content or a tool's output: printable, one line.
  process.stderr.write(`${bin}: ${printable(r.message)}\n`)
}
