import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {gzipSync} from 'node:zlib'
import {afterAll, describe, expect, it} from 'vitest'
import {readSnapshotText, SNAPSHOT_MAX_ENV, snapshotMaxBytes} from '../../src/source/snapshot-file.js'
import {ROOT} from '../helpers/fixtures.js'

const dir = mkdtempSync(`${tmpdir()}/ni-snapfile-`)
afterAll(() => execFileSync('rm', ['-rf', dir]))
const REF = `${ROOT}testdata/reference/node1.json`

function write(name: string, data: string | Buffer): string {
  writeFileSync(`${dir}/${name}`, data)
  return `${dir}/${name}`
}

describe('reading a --snapshot file', () => {
  it('reads a snapshot whole, byte for byte', async () => {
    expect(await readSnapshotText(REF)).toBe(readFileSync(REF, 'utf8'))
  })

  it('reads one that is larger than the first read, and one with the marker at the end of the first KiB', async () => {
    const big = `{"format": "nodeinspect-snapshot", "pad": "${'x'.repeat(3_000_000)}"}`
    expect(await readSnapshotText(write('big.json', big))).toBe(big)
    const late = `${' '.repeat(990)}{"format":"nodeinspect-snapshot"}`
    expect(await readSnapshotText(write('late.json', late))).toBe(late)
  })

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    execFileSync('mkfifo', [`${dir}/fifo`])
    const t = Date.now()
    await expect(readSnapshotText(`${dir}/fifo`)).rejects.toThrow(`snapshot ${dir}/fifo: a FIFO (named pipe), not a regular file`)
    expect(Date.now() - t).toBeLessThan(5000)
  })

  const refused: Array<[string, () => string, string]> = [
    ['a character device that never ends', () => '/dev/urandom', 'snapshot /dev/urandom: a character device, not a regular file'],
    ['a directory', () => dir, `snapshot ${dir}: a directory, not a regular file`],
    ['a missing file', () => `${dir}/none.json`, `snapshot ${dir}/none.json: cannot read it (no such file)`],
    ['an empty file', () => write('empty.json', ''), 'empty: not a nodeinspect snapshot'],
    ['a text file', () => write('text.txt', 'hello\n'.repeat(1000)), 'not a nodeinspect snapshot (it does not start with {"format": "nodeinspect-snapshot"'],
    ['JSON of something else', () => write('other.json', `{"x": [${'1,'.repeat(2000)}1]}`), 'not a nodeinspect snapshot'],
    ['a snapshot whose marker comes after the first KiB', () => write('late2.json', `{"pad": "${'x'.repeat(1100)}", "format": "nodeinspect-snapshot"}`), 'not a nodeinspect snapshot'],
    ['a snapshot gzip-compressed twice', () => write('twice.json.gz', gzipSync(gzipSync(readFileSync(REF)))), 'gzip-compressed twice: decompress it once'],
    ['gzip of something else', () => write('x.gz', gzipSync(`{"x": [${'1,'.repeat(2000)}1]}`)), 'not a nodeinspect snapshot (once inflated: it is gzip-compressed)'],
    ['gzip cut short', () => write('cut.json.gz', gzipSync(readFileSync(REF)).subarray(0, 500)), 'corrupt gzip data (unexpected end of file)'],
  ]
  for (const [name, file, msg] of refused) {
    it(`refuses ${name}`, async () => {
      await expect(readSnapshotText(file())).rejects.toThrow(msg)
    })
  }

  it('reads a gzip-compressed snapshot by its magic bytes, whatever its name (issue 11)', async () => {
    expect(await readSnapshotText(write('n1.json.gz', gzipSync(readFileSync(REF))))).toBe(readFileSync(REF, 'utf8'))
    expect(await readSnapshotText(write('n1-gz.json', gzipSync(readFileSync(REF))))).toBe(readFileSync(REF, 'utf8'))
  })

  it('holds the limit to the inflated text: a small gzip that inflates past it is refused while inflating', async () => {
    const f = write('bomb.json.gz', gzipSync(`{"format": "nodeinspect-snapshot", "pad": "${'x'.repeat(3 * 1024 * 1024)}"}`))
    await expect(readSnapshotText(f, 1024 * 1024)).rejects.toThrow(new RegExp(`^snapshot ${f}: more than 1\\.\\d MiB once inflated, above the 1\\.0 MiB limit for a snapshot`))
  })

  it('refuses a file above the limit from its size, before reading it', async () => {
    const f = write('two-mib.json', `{"format": "nodeinspect-snapshot", "pad": "${'x'.repeat(2 * 1024 * 1024)}"}`)
    await expect(readSnapshotText(f, 1024 * 1024)).rejects.toThrow(
      `snapshot ${f}: 2.0 MiB, above the 1.0 MiB limit for a snapshot (${SNAPSHOT_MAX_ENV}=N raises it to N MiB, up to 511)`,
    )
  })

  it('takes the limit from NODEINSPECT_SNAPSHOT_MAX_MIB, 256 MiB by default, and refuses a bad value', () => {
    expect(snapshotMaxBytes({})).toBe(256 * 1024 * 1024)
    expect(snapshotMaxBytes({[SNAPSHOT_MAX_ENV]: '8'})).toBe(8 * 1024 * 1024)
    for (const v of ['0', '512', 'lots', '1e3', '-1'])
      expect(() => snapshotMaxBytes({[SNAPSHOT_MAX_ENV]: v})).toThrow(`invalid ${SNAPSHOT_MAX_ENV}=${JSON.stringify(v)}: expected a size in MiB from 1 to 511`)
  })
})
