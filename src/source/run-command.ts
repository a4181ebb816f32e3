import {commandLine, type RawOutput} from './types.js'
import type {RunFailure} from '../model/warning.js'

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

/** Classify a finished run. Pure, so the rules are unit-tested without spawning. @internal tested directly (a test seam) */
export function classifyRun(r: {
  exitCode: number | null
  stdout: string
  stderr: string
  errorCode?: string
  /** The signal that ended the tool (execa's `signal`), when it did not exit by itself. */
  signal?: string
  timedOut: boolean
  okExitCodes?: readonly number[]
}): {failure?: RunFailure; cause?: string} {
  if (r.timedOut) return {failure: 'timeout'}
  if (r.errorCode === 'ENOENT') return {failure: 'missing-binary', cause: 'not found in PATH'}
  if (r.errorCode === 'EACCES' || r.errorCode === 'EPERM') return {failure: 'permission', cause: r.errorCode}
  if (r.exitCode === 0 || (r.exitCode !== null && r.okExitCodes?.includes(r.exitCode))) return {}
  // Ended by a signal nodeinspect did not send (a crash, the OOM killer): the tool ran, so it is an 'exit'.
  if (r.exitCode === null && r.signal) return {failure: 'exit', cause: `killed by ${r.signal}`}
  if (r.exitCode === null) return {failure: 'spawn', cause: r.errorCode ?? 'no exit status'}
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

function describeFailure(argv: readonly string[], failure: RunFailure, exitCode: number | null, cause: string | undefined, timeoutMs: number): string {
  const cmd = commandLine(argv)
  switch (failure) {
    case 'missing-binary':
      return `${cmd}: ${argv[0]} is not installed (${cause ?? 'not found'})`
    case 'permission':
      return `${cmd}: permission denied (run as root with CAP_NET_ADMIN and CAP_BPF)${cause ? `: ${cause}` : ''}`
    case 'timeout':
      return `${cmd}: timed out after ${timeoutMs} milliseconds`
    case 'exit':
      if (exitCode === null) return `${cmd}: ${cause ?? 'killed by a signal'}`
      return `${cmd}: exit ${exitCode}${cause ? `: ${cause}` : ''}`
    case 'spawn':
      return `${cmd}: could not run: ${cause ?? 'unknown error'}`
    case 'not-recorded':
      return `${cmd}: not in the snapshot`
  }
}

let execaModule: Promise<typeof import('execa')> | undefined

/** After SIGTERM, how long a timed-out tool's process group has to exit before SIGKILL. @internal tested directly (a test seam) */
export const KILL_GRACE_MS = 500
/** After SIGKILL, how long the pipes may stay open: only a descendant that left the group (setsid) still holds them. */
const PIPE_DRAIN_MS = 200

/**
 * The single place that spawns a process: argument arrays, never a shell; always a timeout.
 *
 * Each tool runs in its own process group (`detached`: setsid), because distributions ship some tools as
 * wrapper scripts: killing only the direct child on timeout leaves a grandchild holding stdout, and the
 * pipe (which execa waits for) never closes. On timeout the whole group gets SIGTERM, then SIGKILL, then
 * the pipes are abandoned. execa's own `timeout` and `cleanup` act on the direct child only (and `cleanup`
 * is off for detached children), so both are done here.
 */
export async function runCommand(spec: SpawnSpec): Promise<RawOutput> {
  execaModule ??= import('execa')
  const {execa} = await execaModule
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const started = performance.now()
  const sub = execa(spec.file, [...spec.args], {
    reject: false,
    input: spec.input ?? '',
    stripFinalNewline: false,
    maxBuffer: 2 ** 30,
    env: {LC_ALL: 'C'},
    extendEnv: true,
    detached: true,
  })
  const pgid = sub.pid
  let timedOut = false
  let timer: NodeJS.Timeout | undefined
  if (pgid !== undefined) {
    trackGroup(pgid)
    timer = setTimeout(() => {
      timedOut = true
      killGroup(pgid, 'SIGTERM')
      timer = setTimeout(() => {
        killGroup(pgid, 'SIGKILL')
        timer = setTimeout(() => {
          sub.stdout?.destroy()
          sub.stderr?.destroy()
        }, PIPE_DRAIN_MS)
      }, KILL_GRACE_MS)
    }, timeoutMs)
  }
  let r: Awaited<typeof sub>
  try {
    r = await sub
  } finally {
    clearTimeout(timer)
    if (pgid !== undefined) untrackGroup(pgid)
  }
  const durationMs = Math.round(performance.now() - started)
  const stdout = typeof r.stdout === 'string' ? r.stdout : ''
  const stderr = typeof r.stderr === 'string' ? r.stderr : ''
  const errorCode = (r as {code?: string}).code
  const exitCode = r.exitCode ?? null
  const {failure, cause} = classifyRun({exitCode, stdout, stderr, errorCode, signal: r.signal, timedOut, okExitCodes: spec.okExitCodes})
  const out: RawOutput = {argv: [...spec.logicalArgv], stdout, stderr, exitCode, durationMs}
  if (spec.input !== undefined) out.input = spec.input
  if (failure) {
    out.failure = failure
    out.message = describeFailure(spec.logicalArgv, failure, exitCode, cause, timeoutMs)
  }
  return out
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: every process of the group has exited already.
  }
}

/**
 * Process groups of tools still running. A detached group no longer gets the terminal's Ctrl-C, so when
 * nodeinspect exits (normally, or on SIGINT/SIGTERM/SIGHUP) it kills them itself. The handlers exist only
 * while a tool runs; a signal is re-raised when no one else listens for it, so the default action still happens.
 */
const liveGroups = new Set<number>()
const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

function killLiveGroups(): void {
  for (const g of liveGroups) killGroup(g, 'SIGKILL')
  liveGroups.clear()
}

function onExitSignal(signal: NodeJS.Signals): void {
  killLiveGroups()
  removeExitHandlers()
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

function trackGroup(pgid: number): void {
  if (liveGroups.size === 0) {
    process.on('exit', killLiveGroups)
    for (const s of EXIT_SIGNALS) process.on(s, onExitSignal)
  }
  liveGroups.add(pgid)
}

function untrackGroup(pgid: number): void {
  if (!liveGroups.delete(pgid) || liveGroups.size > 0) return
  removeExitHandlers()
}

function removeExitHandlers(): void {
  process.off('exit', killLiveGroups)
  for (const s of EXIT_SIGNALS) process.off(s, onExitSignal)
}
