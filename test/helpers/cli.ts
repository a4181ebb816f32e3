import {spawnSync} from 'node:child_process'
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
