import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {PassThrough} from 'node:stream'
import {gunzipSync} from 'node:zlib'
import {afterAll, describe, expect, it} from 'vitest'
import type {SnapshotFile} from '../../src/source/snapshot.js'
import {gzipByName, snapshotChunks, writeSnapshot} from '../../src/source/snapshot-write.js'
import {ROOT} from '../helpers/fixtures.js'

const REF = JSON.parse(readFileSync(`${ROOT}testdata/reference/node1.json`, 'utf8')) as SnapshotFile
const dir = mkdtempSync(`${tmpdir()}/ni-snapwrite-`)
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const whole = (s: SnapshotFile) => `${JSON.stringify(s, null, 1)}\n`

describe('writing a snapshot, streamed (issue 11)', () => {
  it('streams, one output at a time, exactly the text JSON.stringify(snapshot, null, 1) gives', () => {
    expect([...snapshotChunks(REF)].join('')).toBe(whole(REF))
    expect([...snapshotChunks(REF)].length).toBe(REF.outputs.length + 2)
    const empty = {...REF, outputs: []}
    expect([...snapshotChunks(empty)].join('')).toBe(whole(empty))
  })

  it('writes a file, plain or gzip', async () => {
    await writeSnapshot(REF, {file: `${dir}/n1.json`, gzip: false})
    expect(readFileSync(`${dir}/n1.json`, 'utf8')).toBe(whole(REF))
    await writeSnapshot(REF, {file: `${dir}/n1.json.gz`, gzip: true})
    const gz = readFileSync(`${dir}/n1.json.gz`)
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b])
    expect(gunzipSync(gz).toString('utf8')).toBe(whole(REF))
  })

  it('writes to standard output, gzip on request, and leaves it open', async () => {
    for (const gzip of [false, true]) {
      const out = new PassThrough()
      const got: Buffer[] = []
      out.on('data', (d: Buffer) => got.push(d))
      await writeSnapshot(REF, {gzip}, out)
      expect(out.writableEnded).toBe(false)
      const bytes = Buffer.concat(got)
      expect((gzip ? gunzipSync(bytes) : bytes).toString('utf8')).toBe(whole(REF))
    }
  })

  it('takes gzip from a name ending in .gz', () => {
    expect(['n.json.gz', 'N.JSON.GZ', 'n.json', 'n.gzip', '-'].map(gzipByName)).toEqual([true, true, false, false, false])
  })
})
