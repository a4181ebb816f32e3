import {readFile} from 'node:fs/promises'
import {UserError} from '../errors.js'
import {runKey, type RawOutput, type RunRequest, type Source, type SourceMeta} from './types.js'

export const SNAPSHOT_FORMAT = 'nodeinspect-snapshot'
export const SNAPSHOT_VERSION = 1

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

/** Validate a parsed snapshot; every problem becomes one clear line naming the file. */
export function parseSnapshot(text: string, file: string): SnapshotFile {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new UserError(`snapshot ${file}: not valid JSON (${(e as Error).message})`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UserError(`snapshot ${file}: not a nodeinspect snapshot (expected a JSON object)`)
  const d = doc as Record<string, unknown>
  if (d.format !== SNAPSHOT_FORMAT) throw new UserError(`snapshot ${file}: not a nodeinspect snapshot (format is ${JSON.stringify(d.format)}, expected "${SNAPSHOT_FORMAT}")`)
  if (d.version !== SNAPSHOT_VERSION)
    throw new UserError(`snapshot ${file}: format version ${JSON.stringify(d.version)} is not supported (this nodeinspect reads version ${SNAPSHOT_VERSION})`)
  if (typeof d.meta !== 'object' || d.meta === null) throw new UserError(`snapshot ${file}: corrupt: "meta" is missing`)
  if (!Array.isArray(d.outputs)) throw new UserError(`snapshot ${file}: corrupt: "outputs" is not a list`)
  d.outputs.forEach((o, i) => {
    const r = o as Partial<RawOutput> | null
    if (!r || !Array.isArray(r.argv) || !r.argv.every((a) => typeof a === 'string') || typeof r.stdout !== 'string' || typeof r.stderr !== 'string')
      throw new UserError(`snapshot ${file}: corrupt: outputs[${i}] lacks argv, stdout or stderr`)
  })
  return doc as SnapshotFile
}

export async function loadSnapshot(file: string): Promise<SnapshotFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new UserError(`snapshot ${file}: cannot read it (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`)
  }
  return parseSnapshot(text, file)
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
    const key = runKey(req.argv, req.input)
    let p = this.inflight.get(key)
    if (!p) {
      p = this.inner.run(req).then((out) => {
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
