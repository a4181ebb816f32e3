import {spawn} from 'node:child_process'
import {claimHeadStart} from './head-start.js'
import {type ServerRunEvents, type SpawnServer, spawnServer} from './spawn-server.js'
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
  /** The signal that ended the tool, when it did not exit by itself. */
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

/** After SIGTERM, how long a timed-out tool's process group has to exit before SIGKILL. @internal tested directly (a test seam) */
export const KILL_GRACE_MS = 500
/** After SIGKILL, how long the pipes may stay open: only a descendant that left the group (setsid) still holds them. */
const PIPE_DRAIN_MS = 200
/** The most of a tool's standard output kept (V8's longest string is 2^29 − 24 characters on 64-bit). */
const MAX_STDOUT_CHARS = 2 ** 29 - 1024
/**
 * How much of a streamed run's standard output its result keeps: what a caller judges a dump by (its header) and
 * a failure's cause. The rest went to the caller as it came; keeping it too would hold a 110k-rule dump's 16 MB
 * twice (once more in the parse), and cost `marks` ~30 ms at that size (docs/kernel-notes.md#kn-32-streamed-output).
 * @internal tested directly (a test seam)
 */
export const STREAMED_HEAD_CHARS = 65_536

/** Every tool's environment: nodeinspect's, as it is when the tool starts, in the C locale (the parsers read English). */
const toolEnv = (): NodeJS.ProcessEnv => ({...process.env, LC_ALL: 'C'})

/**
 * A tool started: its output kept as it comes, until a caller collects it (runCommand). Apart from the collect so
 * that a tool can be started before anyone asks for it (head-start.ts): what it printed meanwhile is handed over
 * first, then the rest as it comes. Started by the spawn server when one is given (spawn-server.ts: node's own
 * spawn blocks the event loop until the child has exec'd), else by node; the same events either way.
 */
export class StartedTool implements ServerRunEvents {
  readonly startedAt = performance.now()
  /** The tool's pid, which is its process group's (its own session); undefined until known, or if it never ran. */
  pid: number | undefined
  readonly out: string[] = []
  outChars = 0
  /** Once a caller takes the output as it comes (attach with onChunk): only its first STREAMED_HEAD_CHARS are kept. */
  private headOnly = false
  private keptChars = 0
  tooLong = false
  err = ''
  errorCode: string | undefined
  /** The exit, once the pipes closed. */
  closed: {code: number | null; signal: string | null} | undefined
  private onChunk: ((chunk: string) => void) | undefined
  private onClose: (() => void) | undefined
  /** Stop reading the tool's pipes (a descendant that left its group holds them after the kill): it ends now. */
  abandon: () => void = () => {}

  constructor(
    readonly spec: Pick<SpawnSpec, 'file' | 'args' | 'input'>,
    server?: SpawnServer,
  ) {
    const id = server?.start([spec.file, ...spec.args], toolEnv(), spec.input ?? '', this)
    if (id === undefined) this.spawnDirect()
    else
      this.abandon = () => {
        server!.forget(id)
        this.exit(null, null)
      }
  }

  /** node's own spawn: for a streamed dump (its output goes straight to this process), or with no server. */
  private spawnDirect(): void {
    const {spec} = this
    const sub = spawn(spec.file, [...spec.args], {env: toolEnv(), detached: true, stdio: ['pipe', 'pipe', 'pipe']})
    sub.on('error', (e: NodeJS.ErrnoException) => {
      this.errorCode ??= e.code
      // A spawn that failed (ENOENT, EACCES) never gets a 'close' with an exit status.
      if (sub.pid === undefined) this.exit(null, null)
    })
    sub.on('close', (code, signal) => this.exit(code, signal))
    sub.stdout.setEncoding('utf8')
    sub.stdout.on('data', (chunk: string) => this.stdout(chunk))
    sub.stderr.setEncoding('utf8')
    sub.stderr.on('data', (chunk: string) => this.stderr(chunk))
    // A tool that exits without reading its input closes the pipe: EPIPE here is not the tool's failure.
    sub.stdin.on('error', () => {})
    sub.stdin.end(spec.input ?? '')
    this.abandon = () => {
      sub.stdout.destroy()
      sub.stderr.destroy()
    }
    if (sub.pid !== undefined) this.started(sub.pid)
  }

  started(pid: number): void {
    this.pid = pid
    trackGroup(pid)
  }

  stdout(chunk: string): void {
    if (this.tooLong) return
    this.outChars += chunk.length
    if (this.outChars > MAX_STDOUT_CHARS) {
      this.tooLong = true
      if (this.pid !== undefined) killGroup(this.pid, 'SIGKILL')
      return
    }
    this.keep(chunk)
    this.onChunk?.(chunk)
  }

  stderr(chunk: string): void {
    // Only stderr's first lines are ever shown (classifyRun, warnings): a tool that floods it costs no memory.
    if (this.err.length < 1 << 20) this.err += chunk
  }

  spawnError(code: string): void {
    this.errorCode ??= code
  }

  fallback(): void {
    this.spawnDirect()
  }

  lost(): void {
    // Nobody reads its output any more: a server that crashed left it running, and this run no longer tracks it.
    if (this.pid !== undefined) killGroup(this.pid, 'SIGKILL')
    this.errorCode ??= 'the spawn helper ended while the tool ran'
    this.exit(null, null)
  }

  /** The tool ended (a tool that never ran has no exit status, as with node's spawn). */
  exit(code: number | null, signal: string | null): void {
    if (this.closed) return
    this.closed = this.errorCode !== undefined && signal === null ? {code: null, signal: null} : {code, signal}
    if (this.pid !== undefined) untrackGroup(this.pid)
    this.onClose?.()
  }

  /**
   * From now on: each piece of stdout to `onChunk` (those already read first), and `onClose` once it ended. With
   * `onChunk`, only the output's first STREAMED_HEAD_CHARS are kept from now on.
   */
  attach(onChunk: ((chunk: string) => void) | undefined, onClose: () => void): void {
    if (onChunk) {
      for (const c of this.out) onChunk(c)
      const read = this.out.splice(0)
      this.keptChars = 0
      this.headOnly = true
      for (const c of read) this.keep(c)
    }
    this.onChunk = onChunk
    this.onClose = onClose
    if (this.closed) onClose()
  }

  private keep(chunk: string): void {
    if (!this.headOnly) {
      this.out.push(chunk)
      return
    }
    const room = STREAMED_HEAD_CHARS - this.keptChars
    if (room <= 0) return
    const kept = chunk.length <= room ? chunk : chunk.slice(0, room)
    this.out.push(kept)
    this.keptChars += kept.length
  }
}

/**
 * The single place that spawns a process: argument arrays, never a shell; always a timeout.
 *
 * Each tool runs in its own process group (`detached`: setsid), because distributions ship some tools as
 * wrapper scripts: killing only the direct child on timeout leaves a grandchild holding stdout, and the
 * pipe (which `close` waits for) never closes. On timeout the whole group gets SIGTERM, then SIGKILL, then
 * the pipes are abandoned.
 *
 * node:child_process directly, not execa: execa and its dependencies are ~130 modules (~0.1 s) loaded before
 * the first tool could start, and its buffered result cannot hand stdout over as it arrives. `onStdout` gets
 * each piece of standard output as the tool prints it (iptables-save's 16 MB is parsed while it still runs);
 * the result then holds only its first STREAMED_HEAD_CHARS. A run started ahead (head-start.ts) with the same command is taken
 * over instead of starting another; its timeout counts from now. Any other run that is not streamed is started by
 * `server`, the helper's spawn server (spawn-server.ts), when there is one: the same process, without blocking
 * this thread until it has exec'd.
 */
export function runCommand(spec: SpawnSpec, onStdout?: (chunk: string) => void, server: SpawnServer | 'direct' = spawnServer() ?? 'direct'): Promise<RawOutput> {
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS
  // A streamed dump is read straight from its pipe, as it prints: not through the spawn server.
  const tool = claimHeadStart(spec) ?? new StartedTool(spec, onStdout === undefined && server !== 'direct' ? server : undefined)
  return new Promise((resolve) => {
    let timedOut = false
    let timer: NodeJS.Timeout | undefined
    tool.attach(onStdout, () => {
      clearTimeout(timer)
      const {code: exitCode, signal} = tool.closed!
      const {out, err, errorCode, tooLong} = tool
      const stdout = out.length === 1 ? out[0]! : out.join('')
      const r = classifyRun({exitCode, stdout, stderr: err, errorCode, signal: signal ?? undefined, timedOut, okExitCodes: spec.okExitCodes})
      let {failure, cause} = r
      if (tooLong && !timedOut) ({failure, cause} = {failure: 'exit', cause: `more than ${MAX_STDOUT_CHARS} characters of output`})
      const o: RawOutput = {argv: [...spec.logicalArgv], stdout, stderr: err, exitCode, durationMs: Math.round(performance.now() - tool.startedAt)}
      if (spec.input !== undefined) o.input = spec.input
      if (failure) {
        o.failure = failure
        o.message = describeFailure(spec.logicalArgv, failure, exitCode, cause, timeoutMs)
      }
      resolve(o)
    })
    if (tool.closed) return
    // The group is the tool's pid as known when each step comes (a tool the spawn server starts says it a little later).
    const kill = (signal: NodeJS.Signals) => {
      if (tool.pid !== undefined) killGroup(tool.pid, signal)
    }
    timer = setTimeout(() => {
      timedOut = true
      kill('SIGTERM')
      timer = setTimeout(() => {
        kill('SIGKILL')
        timer = setTimeout(() => tool.abandon(), PIPE_DRAIN_MS)
      }, KILL_GRACE_MS)
    }, timeoutMs)
  })
}

export function killGroup(pgid: number, signal: NodeJS.Signals): void {
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
