/**
 * The tools a run asks for, started by the helper's spawn server (native/spawn-server.c) instead of by node.
 *
 * Why: child_process.spawn forks the node process and blocks the event loop until the child has exec'd (libuv's
 * uv_spawn waits on a close-on-exec pipe). On a 2-core node, while a 16 MB iptables dump prints and the garbage
 * collector's threads run, that is ~4 ms per tool, ~70 ms of `marks`' main thread for its ~20 tools
 * (docs/kernel-notes.md#kn-33-spawn-server). Writing a request to the server takes microseconds.
 *
 * Each tool still runs as its own process, in its own session, with the same argv, environment, input and exit
 * status as a direct spawn: only who forks changes. A helper without the server (an older build named by
 * NODEINSPECT_BPF_HELPER), or a server that ends, hands every run it had not started back to be spawned directly.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {constants} from 'node:os'
import {StringDecoder} from 'node:string_decoder'
import {presentBpfHelper} from './helper-path.js'

/** What a run started through the server hears of its tool (StartedTool implements it). */
export interface ServerRunEvents {
  started(pid: number): void
  stdout(chunk: string): void
  stderr(chunk: string): void
  /** The tool never ran: errno's name (ENOENT, EACCES). Its exit follows. */
  spawnError(code: string): void
  /** Last: the tool was reaped and its outputs ended. `code` null when a signal ended it. */
  exit(code: number | null, signal: string | null): void
  /** The server ended before it started this tool: spawn it some other way. */
  fallback(): void
  /** The server ended while this tool ran: its output is lost from here on. */
  lost(): void
}

// Event types (spawn-server.c).
const STARTED = 1
const STDOUT = 2
const STDERR = 3
const SPAWN_ERROR = 4
const EXIT = 5
const REQ_SPAWN = 1
const HEADER_BYTES = 9

interface ServerRun {
  events: ServerRunEvents
  started: boolean
  out: StringDecoder
  err: StringDecoder
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n as number, name]))
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n as number, name]))

/**
 * A spawn request as spawn-server.c reads it: u32 length, u32 id, u8 type, u32 argc, the NUL-terminated
 * strings, u32 envc, the NUL-terminated NAME=VALUE strings, u32 input length, the input.
 * @internal tested directly (a test seam)
 */
export function encodeSpawnRequest(id: number, argv: readonly string[], env: NodeJS.ProcessEnv, input: string): Buffer {
  // One string per section, encoded once: a request is built on every run.
  const vars = Object.entries(env).filter(([, v]) => v !== undefined)
  const words = Buffer.from(argv.map((a) => `${a}\0`).join(''), 'utf8')
  const environment = Buffer.from(vars.map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8')
  const inputBytes = Buffer.from(input, 'utf8')
  const body = 4 + 1 + 4 + words.length + 4 + environment.length + 4 + inputBytes.length
  const b = Buffer.allocUnsafe(4 + body)
  let at = b.writeUInt32LE(body, 0)
  at = b.writeUInt32LE(id, at)
  at = b.writeUInt8(REQ_SPAWN, at)
  at = b.writeUInt32LE(argv.length, at)
  at += words.copy(b, at)
  at = b.writeUInt32LE(vars.length, at)
  at += environment.copy(b, at)
  at = b.writeUInt32LE(inputBytes.length, at)
  inputBytes.copy(b, at)
  return b
}

export class SpawnServer {
  private readonly sub: ChildProcess
  private readonly runs = new Map<number, ServerRun>()
  private nextId = 1
  private pending: Buffer | undefined
  private gone = false

  constructor(helper: string) {
    this.sub = spawn(helper, ['spawn-server'], {env: {...process.env, LC_ALL: 'C'}, stdio: ['pipe', 'pipe', 'ignore']})
    this.sub.on('error', () => this.down())
    // 'close': after the last event was read.
    this.sub.on('close', () => this.down())
    this.sub.stdout!.on('data', (b: Buffer) => this.read(b))
    this.sub.stdin!.on('error', () => this.down())
    this.hold(false)
  }

  /**
   * Start `argv` (what actually runs: nsenter and all) with environment `env` and `input` on its stdin; undefined
   * when the server is gone.
   */
  start(argv: readonly string[], env: NodeJS.ProcessEnv, input: string, events: ServerRunEvents): number | undefined {
    if (this.gone) return undefined
    const id = this.nextId++
    this.runs.set(id, {events, started: false, out: new StringDecoder('utf8'), err: new StringDecoder('utf8')})
    this.hold(true)
    this.sub.stdin!.write(encodeSpawnRequest(id, argv, env, input))
    return id
  }

  /** Stop hearing of a run (its pipes abandoned after a kill): what the server still sends for it is dropped. */
  forget(id: number): void {
    this.runs.delete(id)
    if (this.runs.size === 0) this.hold(false)
  }

  /** The server's process id, for tests. @internal tested directly (a test seam) */
  get pid(): number | undefined {
    return this.sub.pid
  }

  get alive(): boolean {
    return !this.gone
  }

  /** Keep the process alive while a run is pending; idle, the server does not hold it (nor does its exit wait). */
  private hold(busy: boolean): void {
    const handles = [this.sub, this.sub.stdin, this.sub.stdout] as Array<{ref(): void; unref(): void} | null>
    for (const h of handles) {
      if (busy) h?.ref()
      else h?.unref()
    }
  }

  private read(chunk: Buffer): void {
    let b = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    let at = 0
    while (b.length - at >= HEADER_BYTES) {
      const len = b.readUInt32LE(at)
      if (b.length - at - HEADER_BYTES < len) break
      const id = b.readUInt32LE(at + 4)
      const type = b[at + 8]!
      const payload = b.subarray(at + HEADER_BYTES, at + HEADER_BYTES + len)
      at += HEADER_BYTES + len
      this.event(id, type, payload)
    }
    b = b.subarray(at)
    this.pending = b.length > 0 ? Buffer.from(b) : undefined
  }

  private event(id: number, type: number, payload: Buffer): void {
    const run = this.runs.get(id)
    if (run === undefined) return
    const {events} = run
    switch (type) {
      case STARTED:
        run.started = true
        events.started(payload.readInt32LE(0))
        return
      case STDOUT: {
        const s = run.out.write(payload)
        if (s !== '') events.stdout(s)
        return
      }
      case STDERR: {
        const s = run.err.write(payload)
        if (s !== '') events.stderr(s)
        return
      }
      case SPAWN_ERROR: {
        const errno = payload.readInt32LE(0)
        events.spawnError(ERRNO_NAMES.get(errno) ?? `errno ${errno}`)
        return
      }
      case EXIT: {
        const rest = run.out.end()
        if (rest !== '') events.stdout(rest)
        const restErr = run.err.end()
        if (restErr !== '') events.stderr(restErr)
        this.forget(id)
        const code = payload.readInt32LE(0)
        const signal = payload.readInt32LE(4)
        events.exit(code < 0 ? null : code, signal === 0 ? null : (SIGNAL_NAMES.get(signal) ?? `signal ${signal}`))
        return
      }
    }
  }

  private down(): void {
    if (this.gone) return
    this.gone = true
    const runs = [...this.runs.values()]
    this.runs.clear()
    this.hold(false)
    for (const r of runs) {
      if (r.started) r.events.lost()
      else r.events.fallback()
    }
  }
}

let server: SpawnServer | undefined

/**
 * The process's spawn server, started on first need; undefined where there is none to use: no helper, the
 * server ended (it is not restarted: its runs went back to direct spawns), or NODEINSPECT_SPAWN_SERVER=0.
 */
export function spawnServer(): SpawnServer | undefined {
  if (server !== undefined) return server.alive ? server : undefined
  if (process.env.NODEINSPECT_SPAWN_SERVER === '0') return undefined
  const helper = presentBpfHelper()
  if (helper === undefined) return undefined
  server = new SpawnServer(helper)
  return server
}
