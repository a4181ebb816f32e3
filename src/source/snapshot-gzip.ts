/**
 * A gzip-compressed snapshot (`snapshot -o NODE.json.gz`), told by its magic bytes 1f 8b (RFC 1952 §2.3.1), not
 * by its name. It is inflated as a stream: the limit holds for the inflated text (a small file can inflate to
 * gigabytes), and the first KiB of text is checked before the rest is inflated, as for a plain snapshot.
 */
import type {FileHandle} from 'node:fs/promises'
import {createGunzip} from 'node:zlib'

/** Whether the opened file starts with gzip's magic bytes (a positional read: the file's offset is unchanged). */
export async function isGzipFile(fh: FileHandle): Promise<boolean> {
  const head = Buffer.alloc(2)
  const {bytesRead} = await fh.read(head, 0, 2, 0)
  return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b
}

interface GunzipLimits {
  maxBytes: number
  /** Bytes of text to hand `checkStart` before inflating the rest. */
  peekBytes: number
  /** Throws when the first bytes of text are no snapshot's. */
  checkStart(head: Buffer): void
  /** The error for text above maxBytes (it has inflated to `size` bytes so far). */
  tooBig(size: number): Error
  /** The error for a corrupt or truncated gzip stream. */
  corrupt(why: string): Error
}

/** The inflated text of a gzip file, within the limits; every refusal is the error its callback makes. */
export async function readGzipText(fh: FileHandle, limits: GunzipLimits): Promise<string> {
  const chunks: Buffer[] = []
  let n = 0
  let checked = false
  const gunzip = createGunzip()
  const input = fh.createReadStream({start: 0, autoClose: false})
  input.pipe(gunzip)
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      n += chunk.length
      if (n > limits.maxBytes) throw limits.tooBig(n)
      if (!checked && n >= limits.peekBytes) {
        limits.checkStart(Buffer.concat(chunks).subarray(0, limits.peekBytes))
        checked = true
      }
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (typeof code === 'string' && code.startsWith('Z_')) throw limits.corrupt(`${(e as Error).message.toLowerCase()}`)
    throw e
  } finally {
    input.unpipe(gunzip)
    input.destroy()
    gunzip.destroy()
  }
  const all = Buffer.concat(chunks, n)
  if (!checked) limits.checkStart(all)
  return all.toString('utf8')
}
