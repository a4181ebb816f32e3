import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {afterAll, describe, expect, it} from 'vitest'
import {expandSnapshotPaths, snapshotFilesOf} from '../../src/source/snapshot-dir.js'

const dir = mkdtempSync(`${tmpdir()}/ni-snapdir-`)
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('--snapshot DIR: the snapshots of a folder (issue 11)', () => {
  it('takes *.json and *.json.gz directly in it, in name order, and nothing else', async () => {
    for (const f of ['b.json.gz', 'a.json', 'README', 'sums.sha256', '.hidden.json', 'c.JSON']) writeFileSync(`${dir}/${f}`, '{}')
    mkdirSync(`${dir}/sub`)
    writeFileSync(`${dir}/sub/d.json`, '{}')
    expect(await snapshotFilesOf(dir)).toEqual({files: [`${dir}/a.json`, `${dir}/b.json.gz`, `${dir}/c.JSON`], directory: dir})
  })

  it('a file stands for itself (a missing one too: the reader says it is missing)', async () => {
    expect(await snapshotFilesOf(`${dir}/a.json`)).toEqual({files: [`${dir}/a.json`]})
    expect(await snapshotFilesOf(`${dir}/none.json`)).toEqual({files: [`${dir}/none.json`]})
  })

  it('refuses a folder with no snapshot in it, in one line', async () => {
    mkdirSync(`${dir}/empty`)
    await expect(snapshotFilesOf(`${dir}/empty`)).rejects.toThrow(`snapshot directory ${dir}/empty: no snapshot in it (*.json or *.json.gz, as \`nodeinspect snapshot -o FILE\` writes them)`)
  })

  it('expands folders among files, each file once', async () => {
    expect(await expandSnapshotPaths([`${dir}/a.json`, dir])).toEqual({files: [`${dir}/a.json`, `${dir}/b.json.gz`, `${dir}/c.JSON`], directories: [dir]})
  })
})
