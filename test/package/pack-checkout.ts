// Shared by the package tests: pack this checkout as a clean clone would be packed, without touching it.
import {execFile, execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {ROOT} from '../helpers/fixtures.js'

/** npm's own defaults: nothing of the npm that runs these tests (npm test sets npm_config_* for its scripts). */
function npmEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k) && k !== 'NODEINSPECT_BPF_HELPER') env[k] = v
  return env
}

/** Run a command in `cwd` (the project's runner has no cwd: its tools never need one); throws with its stderr. */
export function must(file: string, args: string[], opts: {cwd: string; timeoutMs?: number; input?: string}): Promise<{stdout: string; stderr: string; ms: number}> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, {cwd: opts.cwd, env: npmEnv(), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 2 ** 28, encoding: 'utf8'}, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr.slice(-4000)}`))
      else resolve({stdout, stderr, ms: performance.now() - started})
    })
    // A command that exits without reading its input (file, readelf) closes the pipe first: EPIPE is not its failure.
    child.stdin?.on('error', () => {})
    child.stdin?.end(opts.input ?? '')
  })
}

/** The checkout's files as a clean clone has them (tracked, plus new files not ignored), and its node_modules hard-linked. */
function stageCheckout(dest: string): void {
  const files = execFileSync('git', ['-C', ROOT, 'ls-files', '-co', '--exclude-standard', '-z'], {encoding: 'utf8'}).split('\0').filter((f) => f !== '' && f !== 'node_modules')
  for (const f of files) {
    const from = join(ROOT, f)
    if (!existsSync(from) || !statSync(from).isFile()) continue // deleted in the work tree, or a submodule
    mkdirSync(dirname(join(dest, f)), {recursive: true})
    copyFileSync(from, join(dest, f))
    chmodSync(join(dest, f), statSync(from).mode & 0o777)
  }
  // A real directory, not a symlink: npm packs bundled dependencies from where they really are, so a symlinked
  // node_modules would put them in the tarball as ../../… paths.
  const nm = realpathSync(join(ROOT, 'node_modules'))
  try {
    execFileSync('cp', ['-al', nm, join(dest, 'node_modules')])
  } catch {
    rmSync(join(dest, 'node_modules'), {recursive: true, force: true})
    execFileSync('cp', ['-a', nm, join(dest, 'node_modules')])
  }
}

/** Why packing cannot be tried here (empty when it can). */
export function packSkipReason(): string {
  return existsSync(`${ROOT}.git`) ? '' : `${ROOT} is not a git checkout (the package is packed from its tracked files)`
}

/**
 * `npm pack` of a copy of this checkout into `work` (prepack: the build and both static helpers; the machine is
 * slow when loaded); returns the tarball's path and how long it took.
 */
export async function packCheckout(work: string): Promise<{tarball: string; ms: number}> {
  const src = join(work, 'src')
  stageCheckout(src)
  const pack = await must('npm', ['pack', '--pack-destination', work, '--no-audit', '--no-fund'], {cwd: src, timeoutMs: 900_000})
  rmSync(src, {recursive: true, force: true})
  return {tarball: join(work, pack.stdout.trim().split('\n').at(-1)!), ms: pack.ms}
}
