import {spawn, spawnSync} from 'node:child_process'
import {expect} from 'vitest'
import {ROOT} from './fixtures.js'

export interface CliResult {
  status: number | null
  stdout: string
  stderr: string
}

/** Run the built CLI (bin/run.js → dist/) as a user would; `npm test` builds first. */
export function cli(args: string[], opts: {env?: Record<string, string>} = {}): CliResult {
  // The timeout only stops a hung CLI: a run against the live lab went past 60 s on a loaded 2-core machine.
  const r = spawnSync(process.execPath, [`${ROOT}bin/run.js`, ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, NO_COLOR: '1', ...opts.env}, timeout: 300_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

/**
 * A failure as the user meets it: the exit code, exactly one line `nodeinspect: …` on stderr and no stack; with
 * --json in the arguments stdout is `{"error": {"message", "exit"}}` carrying that same line, without it stdout is empty.
 */
export function expectFailure(r: CliResult, args: readonly string[], exit: number, line: string | RegExp): void {
  expect(r.status).toBe(exit)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  expect(r.stderr.endsWith('\n')).toBe(true)
  const lines = r.stderr.slice(0, -1).split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^nodeinspect: /)
  const message = lines[0]!.slice('nodeinspect: '.length)
  if (typeof line === 'string') expect(message).toBe(line)
  else expect(message).toMatch(line)
  const json = args.indexOf('--json') !== -1 && (args.indexOf('--') === -1 || args.indexOf('--json') < args.indexOf('--'))
  if (json) expect(JSON.parse(r.stdout)).toEqual({error: {message, exit}})
  else expect(r.stdout).toBe('')
}

/** The built CLI run asynchronously, for several at once (concurrent lab runs, inspection during churn). */
export function cliAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${ROOT}bin/run.js`, ...args], {cwd: ROOT, env: {...process.env, NO_COLOR: '1'}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (status) => resolve({status, stdout, stderr}))
  })
}
