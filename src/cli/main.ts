/**
 * The entry point's error path. oclif handles what fails outside a command's own catch (an unknown command,
 * a result that cannot be printed as JSON) with its own "› Error:" format or a stack; nodeinspect's line
 * and JSON shape are the same wherever the failure comes from (src/cli/error-report.ts).
 */
import {flush, run} from '@oclif/core'
import {debugEnabled, describeError, isExitSignal, jsonRequested, writeError} from './error-report.js'

export async function main(dir: string, argv: string[] = process.argv.slice(2)): Promise<void> {
  try {
    await run(argv, dir)
    await flush()
  } catch (error) {
    const err = error as Error & {oclif?: {exit?: number}}
    // this.exit(code) from a command's catch (the line is already written), --help, --version.
    if (isExitSignal(err)) {
      process.exitCode = err.oclif?.exit ?? 0
      return
    }
    if (debugEnabled() && err.stack) process.stderr.write(`${err.stack}\n`)
    const r = describeError(err)
    writeError(r, jsonRequested(argv))
    process.exitCode = r.exit
  }
}
