import {quoteInput, UserError} from '../errors.js'
import {readSnapshotText} from './snapshot-file.js'
import {runKey, runStreaming, type RawOutput, type RunRequest, type Source, type StdoutSink} from './types.js'
import type {SourceMeta} from '../model/node-meta.js'
import type {RunFailure} from '../model/warning.js'

const SNAPSHOT_FORMAT = 'nodeinspect-snapshot'
const SNAPSHOT_VERSION = 1

/** The file `nodeinspect snapshot` writes: raw outputs of every probe plus where and when they were taken. */
export interface SnapshotFile {
  format: typeof SNAPSHOT_FORMAT
  version: typeof SNAPSHOT_VERSION
  meta: SnapshotMeta
  outputs: RawOutput[]
}

export interface SnapshotMeta {
  hostname?: string
  kernel?: string
  netns?: string
  takenAt?: string
  nodeinspectVersion?: string
  /** First line of each tool's own version output, e.g. {"bpftool": "7.1.0", "ip": "ip utility, iproute2-6.1.0"}. */
  tools?: Record<string, string>
  /** Free text from whoever wrote the snapshot, shown with every answer from it. */
  note?: string
}

const META_STRINGS = ['hostname', 'kernel', 'netns', 'takenAt', 'nodeinspectVersion', 'note'] as const
const FAILURES: ReadonlySet<string> = new Set<RunFailure>(['missing-binary', 'permission', 'timeout', 'exit', 'spawn', 'not-recorded'])

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

/** A value from the file as JSON, cut short: it goes into a one-line error. Only scalars are written out:
 * JSON.stringify of a value nested thousands deep overflows the stack (found by the snapshot fuzzer). */
function shown(v: unknown): string {
  if (typeof v === 'object' && v !== null) return typeName(v)
  const j = JSON.stringify(v)
  if (j === undefined) return 'missing'
  return j.length > 40 ? `${j.slice(0, 40)}…` : j
}

/**
 * Validate a parsed snapshot; every problem becomes one clear line naming the file and the field. Every field
 * is checked for its type here, once, so nothing downstream meets a number where it formats a string.
 * Fields this version does not know are ignored.
 * @internal tested directly (a test seam)
 */
export function parseSnapshot(text: string, file: string): SnapshotFile {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    // V8's message quotes the text around the error, line breaks included: one line, cut short.
    const why = (e as Error).message.replace(/\s*\n\s*/g, ' ')
    throw new UserError(`snapshot ${file}: not valid JSON (${why.length > 160 ? `${why.slice(0, 160)}…` : why})`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UserError(`snapshot ${file}: not a nodeinspect snapshot (expected a JSON object)`)
  const d = doc as Record<string, unknown>
  if (d.format !== SNAPSHOT_FORMAT) throw new UserError(`snapshot ${file}: not a nodeinspect snapshot (format is ${shown(d.format)}, expected "${SNAPSHOT_FORMAT}")`)
  if (d.version !== SNAPSHOT_VERSION)
    throw new UserError(`snapshot ${file}: format version ${shown(d.version)} is not supported (this nodeinspect reads version ${SNAPSHOT_VERSION})`)
  const corrupt = (what: string): UserError => new UserError(`snapshot ${file}: corrupt: ${what}`)
  if (typeof d.meta !== 'object' || d.meta === null || Array.isArray(d.meta)) throw corrupt(d.meta === undefined ? '"meta" is missing' : `"meta" is ${typeName(d.meta)}, expected an object`)
  const meta = d.meta as Record<string, unknown>
  for (const k of META_STRINGS) if (meta[k] !== undefined && typeof meta[k] !== 'string') throw corrupt(`meta.${k} is ${typeName(meta[k])}, expected a string`)
  if (meta.tools !== undefined) {
    if (typeof meta.tools !== 'object' || meta.tools === null || Array.isArray(meta.tools)) throw corrupt(`meta.tools is ${typeName(meta.tools)}, expected an object`)
    for (const [k, v] of Object.entries(meta.tools)) if (typeof v !== 'string') throw corrupt(`meta.tools[${quoteInput(k, 40)}] is ${typeName(v)}, expected a string`)
  }
  if (!Array.isArray(d.outputs)) throw corrupt(`"outputs" is not a list`)
  d.outputs.forEach((o, i) => {
    const at = `outputs[${i}]`
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw corrupt(`${at} is ${typeName(o)}, expected an object`)
    const r = o as Record<string, unknown>
    if (!Array.isArray(r.argv) || r.argv.length === 0) throw corrupt(`${at}.argv is ${r.argv === undefined ? 'missing' : typeName(r.argv)}, expected a non-empty list of strings`)
    const a = r.argv.findIndex((x) => typeof x !== 'string')
    if (a !== -1) throw corrupt(`${at}.argv[${a}] is ${typeName(r.argv[a])}, expected a string`)
    for (const k of ['stdout', 'stderr'] as const) if (typeof r[k] !== 'string') throw corrupt(`${at}.${k} is ${r[k] === undefined ? 'missing' : typeName(r[k])}, expected a string`)
    for (const k of ['input', 'message'] as const) if (r[k] !== undefined && typeof r[k] !== 'string') throw corrupt(`${at}.${k} is ${typeName(r[k])}, expected a string`)
    if (r.exitCode !== null && !Number.isInteger(r.exitCode)) throw corrupt(`${at}.exitCode is ${r.exitCode === undefined ? 'missing' : typeName(r.exitCode)}, expected an integer or null`)
    if (typeof r.durationMs !== 'number' || !Number.isFinite(r.durationMs) || r.durationMs < 0)
      throw corrupt(`${at}.durationMs is ${r.durationMs === undefined ? 'missing' : typeof r.durationMs === 'number' ? String(r.durationMs) : typeName(r.durationMs)}, expected milliseconds (a number ≥ 0)`)
    if (r.failure !== undefined && (typeof r.failure !== 'string' || !FAILURES.has(r.failure)))
      throw corrupt(`${at}.failure is ${typeof r.failure === 'string' ? quoteInput(r.failure, 40) : typeName(r.failure)}, expected one of ${[...FAILURES].join(', ')}`)
  })
  return doc as SnapshotFile
}

/** Load `--snapshot FILE`: refused early unless it is a regular file of sane size that starts like a snapshot (snapshot-file.ts). */
export async function loadSnapshot(file: string): Promise<SnapshotFile> {
  return parseSnapshot(await readSnapshotText(file), file)
}

/** Answers `run` from a snapshot, so every command gives offline the answer it gave live. */
export class SnapshotSource implements Source {
  readonly meta: SourceMeta
  private readonly byKey = new Map<string, RawOutput>()

  constructor(snap: SnapshotFile, file?: string) {
    for (const o of snap.outputs) this.byKey.set(runKey(o.argv, o.input), o)
    this.meta = {kind: 'snapshot', hostname: snap.meta.hostname, kernel: snap.meta.kernel, takenAt: snap.meta.takenAt}
    if (snap.meta.netns !== undefined) this.meta.netns = snap.meta.netns
    if (snap.meta.note !== undefined) this.meta.note = snap.meta.note
    if (file !== undefined) this.meta.snapshotFile = file
  }

  /** The recorded text, handed over whole: the same pieces a parser would see from one large read. */
  async stream(req: RunRequest, onChunk: StdoutSink): Promise<RawOutput> {
    const out = await this.run(req)
    if (out.stdout !== '') onChunk(out.stdout)
    return out
  }

  async run(req: RunRequest): Promise<RawOutput> {
    const hit = this.byKey.get(runKey(req.argv, req.input))
    if (hit) return hit
    return {
      argv: [...req.argv],
      stdout: '',
      stderr: '',
      exitCode: null,
      failure: 'not-recorded',
      message: `${req.argv.join(' ')}: not in the snapshot${this.meta.snapshotFile ? ` ${this.meta.snapshotFile}` : ''} (taken by an older nodeinspect, or the probe was skipped)`,
      durationMs: 0,
    }
  }
}

/** Wraps a live source and keeps every output, for `nodeinspect snapshot`. */
export class RecordingSource implements Source {
  readonly outputs = new Map<string, RawOutput>()
  /** Several collectors ask for the same command (hooks, marks and trace all read the links): run it once. */
  private readonly inflight = new Map<string, Promise<RawOutput>>()
  constructor(private readonly inner: Source) {}
  get meta(): SourceMeta {
    return this.inner.meta
  }

  run(req: RunRequest): Promise<RawOutput> {
    return this.record(req, (r) => this.inner.run(r))
  }

  /**
   * Streamed from the inner source as it runs; the whole text is recorded (kept here as it passes: a live source's
   * streamed result keeps only its head). A second asker of the same command gets it whole.
   */
  async stream(req: RunRequest, onChunk: StdoutSink): Promise<RawOutput> {
    let first = false
    const whole = (r: RunRequest): Promise<RawOutput> => {
      const pieces: string[] = []
      return runStreaming(this.inner, r, (c) => {
        pieces.push(c)
        onChunk(c)
      }).then((out) => ({...out, stdout: pieces.join('')}))
    }
    const out = await this.record(req, (r) => ((first = true), whole(r)))
    if (!first && out.stdout !== '') onChunk(out.stdout)
    return out
  }

  private record(req: RunRequest, run: (r: RunRequest) => Promise<RawOutput>): Promise<RawOutput> {
    const key = runKey(req.argv, req.input)
    let p = this.inflight.get(key)
    if (!p) {
      p = run(req).then((out) => {
        this.outputs.set(runKey(out.argv, out.input), out)
        return out
      })
      this.inflight.set(key, p)
    }
    return p
  }

  toSnapshot(extra: Partial<SnapshotMeta> = {}): SnapshotFile {
    const m = this.inner.meta
    const meta: SnapshotMeta = {hostname: m.hostname, kernel: m.kernel, takenAt: m.takenAt, ...extra}
    if (m.netns !== undefined) meta.netns = m.netns
    // Sorted by key so two snapshots of the same node diff cleanly.
    const outputs = [...this.outputs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o)
    return {format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, meta, outputs}
  }
}
