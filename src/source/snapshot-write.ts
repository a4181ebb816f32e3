/**
 * Writing a snapshot: to a file or to standard output (`snapshot -o -`, for `kubectl debug … > node.json`),
 * gzip-compressed on request. The text is produced one probe output at a time and streamed, so a 100 MB node is
 * never held as one string; it is byte for byte `JSON.stringify(snapshot, null, 1)` plus a newline.
 */
import {createWriteStream} from 'node:fs'
import {Readable, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'
import type {SnapshotFile} from './snapshot.js'

/** The snapshot's text in pieces: the head, each output, the tail (JSON.stringify(snap, null, 1) + "\n" joined). @internal tested directly */
export function* snapshotChunks(snap: SnapshotFile): Generator<string> {
  const {outputs, ...head} = snap
  const headText = JSON.stringify(head, null, 1)
  // `{\n "format": …,\n "meta": {…}\n}`: reopen it before its closing brace.
  yield `${headText.slice(0, -2)},\n "outputs": [`
  let first = true
  for (const o of outputs) {
    // One level deeper than at the top: every line after the first gains two spaces (indent 1 × 2 levels).
    yield `${first ? '' : ','}\n  ${JSON.stringify(o, null, 1).replace(/\n/g, '\n  ')}`
    first = false
  }
  yield outputs.length === 0 ? ']\n}\n' : '\n ]\n}\n'
}

export interface SnapshotDestination {
  /** A file name; absent: standard output. */
  file?: string
  gzip: boolean
}

/** Streams the snapshot to its destination; standard output is left open (other output may follow). */
export async function writeSnapshot(snap: SnapshotFile, to: SnapshotDestination, stdout: Writable = process.stdout): Promise<void> {
  const text = Readable.from(snapshotChunks(snap), {objectMode: false})
  const dest = to.file === undefined ? stdout : createWriteStream(to.file)
  const end = to.file !== undefined
  if (to.gzip) await pipeline(text, createGzip(), dest, {end})
  else await pipeline(text, dest, {end})
}

/** Whether a name asks for gzip: `.gz` at its end (`node1.json.gz`). */
export function gzipByName(file: string): boolean {
  return /\.gz$/i.test(file)
}
