import {commandLine, type RawOutput, type RunFailure} from './types.js'

export const DEFAULT_TIMEOUT_MS = 20_000

export interface SpawnSpec {
  /** What actually runs (may carry an nsenter prefix or a resolved helper path). */
  file: string
  args: readonly string[]
  /** The logical argv the caller asked for: reported and used as the snapshot key. */
  logicalArgv: readonly string[]
  input?: string
  timeoutMs?: number
  okExitCodes?: readonly number[]
}

const PERMISSION_RE = /operation not permitted|permission denied|must be root|you must be root|EPERM|EACCES|are you root/i

/** Classify a finished run. Pure, so the rules are unit-tested without spawning. */
export function classifyRun(r: {
  exitCode: number | null
  stdout: string
  stderr: string
  errorCode?: string
  timedOut: boolean
  okExitCodes?: readonly number[]
}): {failure?: RunFailure; cause?: string} {
  if (r.timedOut) return {failure: 'timeout'}
  if (r.errorCode === 'ENOENT') return {failure: 'missing-binary', cause: 'not found in PATH'}
  if (r.errorCode === 'EACCES' || r.errorCode === 'EPERM') return {failure: 'permission', cause: r.errorCode}
  if (r.exitCode === 0 || (r.exitCode !== null && r.okExitCodes?.includes(r.exitCode))) return {}
  if (r.exitCode === null) return {failure: 'spawn', cause: r.errorCode ?? 'killed by a signal'}
  const text = firstErrorLine(r.stderr) || firstErrorLine(bpftoolJsonError(r.stdout) ?? '')
  if (PERMISSION_RE.test(r.stderr) || PERMISSION_RE.test(r.stdout)) return {failure: 'permission', cause: text}
  return {failure: 'exit', cause: text}
}

/** bpftool -j reports errors on stdout as {"error": "..."} (or [{"error": ...}]). */
function bpftoolJsonError(stdout: string): string | undefined {
  const m = /"error"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(stdout.slice(0, 4096))
  return m?.[1]
}

function firstErrorLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '' && !/^\s*(warning|note):/i.test(l)) ?? ''
  return line.trim().slice(0, 300)
}

export function describeFailure(argv: readonly string[], failure: RunFailure, exitCode: number | null, cause: string | undefined, timeoutMs: number): string {
  const cmd = commandLine(argv)
  switch (failure) {
    case 'missing-binary':
      return `${cmd}: ${argv[0]} is not installed (${cause ?? 'not found'})`
    case 'permission':
      return `${cmd}: permission denied (run as root with CAP_NET_ADMIN and CAP_BPF)${cause ? `: ${cause}` : ''}`
    case 'timeout':
      return `${cmd}: timed out after ${timeoutMs} milliseconds`
    case 'exit':
      return `${cmd}: exit ${exitCode}${cause ? `: ${cause}` : ''}`
    case 'spawn':
      return `${cmd}: could not run: ${cause ?? 'unknown error'}`
    case 'not-recorded':
      return `${cmd}: not in the snapshot`
  }
}

let execaModule: Promise<typeof import('execa')> | undefined

/** The single place that spawns a process: argument arrays, never a shell; always a timeout. */
export async function runCommand(spec: SpawnSpec): Promise<RawOutput> {
  execaModule ??= import('execa')
  const {execa} = await execaModule
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const started = performance.now()
  const r = await execa(spec.file, [...spec.args], {
    reject: false,
    timeout: timeoutMs,
    input: spec.input ?? '',
    stripFinalNewline: false,
    maxBuffer: 2 ** 30,
    env: {LC_ALL: 'C'},
    extendEnv: true,
  })
  const durationMs = Math.round(performance.now() - started)
  const stdout = typeof r.stdout === 'string' ? r.stdout : ''
  const stderr = typeof r.stderr === 'string' ? r.stderr : ''
  const errorCode = (r as {code?: string}).code
  const exitCode = r.exitCode ?? null
  const {failure, cause} = classifyRun({exitCode, stdout, stderr, errorCode, timedOut: r.timedOut, okExitCodes: spec.okExitCodes})
  const out: RawOutput = {argv: [...spec.logicalArgv], stdout, stderr, exitCode, durationMs}
  if (spec.input !== undefined) out.input = spec.input
  if (failure) {
    out.failure = failure
    out.message = describeFailure(spec.logicalArgv, failure, exitCode, cause, timeoutMs)
  }
  return out
}
