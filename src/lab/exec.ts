/** How the lab runs tools: always through runCommand, inside a lab netns via nsenter when asked. */
import {fileURLToPath} from 'node:url'
import {runCommand} from '../source/run-command.js'
import type {RawOutput} from '../source/types.js'

/** A lab step that failed: `message` is one line and names the step. */
export class LabError extends Error {
  readonly exitCode = 1
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message)
    this.name = 'LabError'
  }
}

/** The project root: src/lab/ (vitest) and dist/lab/ (built) are both two levels below it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** A file shipped in the project's lab/ directory (BPF sources, listener script). */
export function labAsset(rel: string): string {
  return fileURLToPath(new URL(`../../lab/${rel}`, import.meta.url))
}

export function netnsFile(netns: string): string {
  return `/run/netns/${netns}`
}

export interface LabRunOptions {
  /** Run inside this lab netns (nsenter --net, which keeps the host's mounts: bpffs stays visible). */
  netns?: string
  /** Extra environment for the tool (passed through `env`, runCommand has no env option). */
  env?: Record<string, string>
  input?: string
  timeoutMs?: number
  okExitCodes?: readonly number[]
}

/** Run argv; on failure throw a LabError whose message is `<step>: <what failed>`. */
export async function labRun(step: string, argv: readonly string[], opts: LabRunOptions = {}): Promise<RawOutput> {
  const out = await labTry(argv, opts)
  if (out.failure) throw new LabError(step, `${step}: ${describeLabFailure(out)}`)
  return out
}

/** Run argv and return the output whatever happened. */
export async function labTry(argv: readonly string[], opts: LabRunOptions = {}): Promise<RawOutput> {
  let cmd: string[] = [...argv]
  if (opts.netns !== undefined) cmd = ['nsenter', `--net=${netnsFile(opts.netns)}`, '--', ...cmd]
  if (opts.env && Object.keys(opts.env).length > 0) cmd = ['env', ...Object.entries(opts.env).map(([k, v]) => `${k}=${v}`), ...cmd]
  const [file, ...args] = cmd as [string, ...string[]]
  const logical = opts.netns !== undefined ? ['nsenter', `--net=${netnsFile(opts.netns)}`, ...argv] : [...argv]
  return runCommand({file, args, logicalArgv: logical, input: opts.input, timeoutMs: opts.timeoutMs ?? 20_000, okExitCodes: opts.okExitCodes})
}

/**
 * One line; for `-batch` runs it adds the input line that failed (`Command failed -:3`).
 * @internal tested directly (a test seam)
 */
export function describeLabFailure(out: RawOutput): string {
  let msg = out.message ?? `${out.argv.join(' ')}: failed`
  const m = /Command failed -:(\d+)/.exec(out.stderr)
  if (m && out.input !== undefined) {
    const line = out.input.split('\n')[Number(m[1]) - 1]
    if (line) msg += ` (batch line ${m[1]}: "${line.trim()}")`
  }
  return msg.replace(/\s*\n\s*/g, ' ')
}

/** JSON a lab tool printed; anything else is a LabError of that step quoting the start of the output. */
export function parseLabJson<T>(step: string, text: string): T {
  try {
    return JSON.parse(text) as T
  } catch {
    throw new LabError(step, `${step}: unexpected output: ${text.trim().slice(0, 200)}`)
  }
}

/** Split output that holds several JSON documents one after another (`tc -j -batch`, `bpftool -j batch`). */
export function splitJsonValues(text: string): unknown[] {
  const out: unknown[] = []
  let depth = 0
  let start = -1
  let inString = false
  let escaped = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (escaped) escaped = false
      else if (c === '\\') escaped = true
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') {
      if (depth > 0) inString = true
    } else if (c === '[' || c === '{') {
      if (depth === 0) start = i
      depth++
    } else if (c === ']' || c === '}') {
      depth--
      if (depth === 0 && start >= 0) {
        out.push(JSON.parse(text.slice(start, i + 1)))
        start = -1
      }
    }
  }
  return out
}
