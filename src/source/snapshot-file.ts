/**
 * Reading a `--snapshot FILE` before anything trusts it: only a regular file (a FIFO would block forever,
 * /dev/urandom never ends), at most a documented size, and it must look like a snapshot from its first
 * bytes, so a wrong file is refused before it is read whole. The text is read into one buffer of the file's
 * size and decoded once: the loader holds the file's bytes, its text and then JSON.parse's result, no more.
 */
import {constants} from 'node:fs'
import {open, type FileHandle} from 'node:fs/promises'
import {UserError} from '../errors.js'
import {isGzipFile, readGzipText} from './snapshot-gzip.js'

/** The format marker every snapshot starts with: `nodeinspect snapshot` writes `{"format": "nodeinspect-snapshot", …` first. */
const SNAPSHOT_MARKER = '"nodeinspect-snapshot"'
/** How far into the file the marker must appear. */
const SNAPSHOT_PEEK_BYTES = 1024
/** @internal tested directly (a test seam) */
export const SNAPSHOT_MAX_ENV = 'NODEINSPECT_SNAPSHOT_MAX_MIB'
/** Loading takes about 3.3 times the file's size in memory (its bytes, its text, the parsed document). */
const SNAPSHOT_DEFAULT_MAX_MIB = 256
/** V8 cannot make a string of more than 2^29-24 characters (String::kMaxLength): a larger file cannot be parsed at all. */
const SNAPSHOT_HARD_MAX_MIB = 511

const MIB = 1024 * 1024

/** The size limit in bytes: NODEINSPECT_SNAPSHOT_MAX_MIB, or 256 MiB. @internal tested directly (a test seam) */
export function snapshotMaxBytes(env: Record<string, string | undefined> = process.env): number {
  const v = env[SNAPSHOT_MAX_ENV]
  if (v === undefined || v === '') return SNAPSHOT_DEFAULT_MAX_MIB * MIB
  if (!/^\d{1,4}$/.test(v) || Number(v) < 1 || Number(v) > SNAPSHOT_HARD_MAX_MIB)
    throw new UserError(`invalid ${SNAPSHOT_MAX_ENV}=${JSON.stringify(v.slice(0, 20))}: expected a size in MiB from 1 to ${SNAPSHOT_HARD_MAX_MIB} (the largest text Node.js can parse)`)
  return Number(v) * MIB
}

function kindOf(st: {isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean}): string {
  if (st.isDirectory()) return 'a directory'
  if (st.isFIFO()) return 'a FIFO (named pipe)'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  if (st.isSocket()) return 'a socket'
  return 'not a regular file'
}

function mib(n: number): string {
  return n >= MIB ? `${(n / MIB).toFixed(n >= 10 * MIB ? 0 : 1)} MiB` : `${n} bytes`
}

/** The start of a snapshot: `{`, after whitespace, and the format marker in the first KiB. */
function checkSnapshotStart(head: Buffer, file: string, gzip = false): void {
  // Gzip inside gzip (`gzip` run on a .gz): one layer is inflated, never more.
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) throw new UserError(`snapshot ${file}: gzip-compressed twice: decompress it once (gunzip ${file})`)
  const where = gzip ? ' (once inflated: it is gzip-compressed)' : ''
  const text = head.toString('utf8')
  const first = /\S/.exec(text)
  if (!first) throw new UserError(`snapshot ${file}: empty${where}: not a nodeinspect snapshot`)
  if (first[0] !== '{' || !text.includes(SNAPSHOT_MARKER))
    throw new UserError(`snapshot ${file}: not a nodeinspect snapshot${where} (it does not start with {"format": ${SNAPSHOT_MARKER}, …} as \`nodeinspect snapshot\` writes it)`)
}

/** The text of a snapshot file, checked as the module comment says; every refusal is one UserError line. */
export async function readSnapshotText(file: string, maxBytes = snapshotMaxBytes()): Promise<string> {
  let fh: FileHandle
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; it changes nothing for a regular file.
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new UserError(`snapshot ${file}: cannot read it (${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)})`)
  }
  try {
    // fstat of what was opened, not stat of the name: the file cannot be swapped in between.
    const st = await fh.stat()
    if (!st.isFile()) throw new UserError(`snapshot ${file}: ${kindOf(st)}, not a regular file: a snapshot is a file written by \`nodeinspect snapshot -o FILE\``)
    if (st.size > maxBytes) throw tooBig(file, st.size, maxBytes)
    // By its first bytes, whatever its name: `snapshot -o NODE.json.gz` writes gzip.
    if (await isGzipFile(fh))
      return await readGzipText(fh, {
        maxBytes,
        peekBytes: SNAPSHOT_PEEK_BYTES,
        checkStart: (head) => checkSnapshotStart(head, file, true),
        tooBig: (size) => tooBig(file, size, maxBytes, ' once inflated'),
        corrupt: (why) => new UserError(`snapshot ${file}: corrupt gzip data (${why})`),
      })
    // One buffer of the file's size; it grows only for a file that grows while read (or /proc, which says 0).
    let buf = Buffer.allocUnsafe(Math.max(st.size + 1, SNAPSHOT_PEEK_BYTES))
    let n = 0
    let checked = false
    for (;;) {
      if (n === buf.length) {
        if (n > maxBytes) throw tooBig(file, n, maxBytes)
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, maxBytes + 1))
        buf.copy(bigger, 0, 0, n)
        buf = bigger
      }
      // The first KiB alone first: a wrong 200 MB file is refused after reading 1 KiB of it.
      const want = checked ? buf.length - n : Math.min(buf.length, SNAPSHOT_PEEK_BYTES) - n
      const {bytesRead} = await fh.read(buf, n, want, n)
      if (bytesRead === 0) break
      n += bytesRead
      if (!checked && n >= SNAPSHOT_PEEK_BYTES) {
        checkSnapshotStart(buf.subarray(0, SNAPSHOT_PEEK_BYTES), file)
        checked = true
      }
    }
    if (n > maxBytes) throw tooBig(file, n, maxBytes)
    if (!checked) checkSnapshotStart(buf.subarray(0, n), file)
    return buf.toString('utf8', 0, n)
  } catch (e) {
    if (e instanceof UserError) throw e
    const code = (e as NodeJS.ErrnoException).code
    throw new UserError(`snapshot ${file}: cannot read it (${code ?? (e as Error).message})`)
  } finally {
    await fh.close()
  }
}

function tooBig(file: string, size: number, maxBytes: number, inflated = ''): UserError {
  const how = size > SNAPSHOT_HARD_MAX_MIB * MIB ? `Node.js cannot parse a text above ${SNAPSHOT_HARD_MAX_MIB} MiB` : `${SNAPSHOT_MAX_ENV}=N raises it to N MiB, up to ${SNAPSHOT_HARD_MAX_MIB}`
  return new UserError(`snapshot ${file}: ${inflated ? 'more than ' : ''}${mib(size)}${inflated}, above the ${mib(maxBytes)} limit for a snapshot (${how})`)
}
