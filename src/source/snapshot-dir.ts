/**
 * `--snapshot DIR`: every snapshot of a folder, a fleet's nodes side by side (`for n in …; do … snapshot -o -
 * > dir/$n.json.gz; done`). Only `*.json` and `*.json.gz` directly in it, in name order; anything else there is
 * left alone (a README, a checksum list). Each file is then read as any --snapshot FILE is (snapshot-file.ts).
 */
import {readdir, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {UserError} from '../errors.js'

const SNAPSHOT_NAME = /\.json(\.gz)?$/i

/** The snapshot files a --snapshot path stands for: itself, or a directory's `*.json` and `*.json.gz`. */
export async function snapshotFilesOf(path: string): Promise<{files: string[]; directory?: string}> {
  let isDir = false
  try {
    isDir = (await stat(path)).isDirectory()
  } catch {
    // Not there, or not readable: the file reader says which, in its own words.
    return {files: [path]}
  }
  if (!isDir) return {files: [path]}
  let names: string[]
  try {
    names = await readdir(path)
  } catch (e) {
    throw new UserError(`snapshot directory ${path}: cannot list it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  const files = names
    .filter((n) => SNAPSHOT_NAME.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(path, n))
  if (files.length === 0) throw new UserError(`snapshot directory ${path}: no snapshot in it (*.json or *.json.gz, as \`nodeinspect snapshot -o FILE\` writes them)`)
  return {files, directory: path}
}

/** Every --snapshot path given, directories expanded, each file once (in the order given). */
export async function expandSnapshotPaths(paths: readonly string[]): Promise<{files: string[]; directories: string[]}> {
  const each = await Promise.all(paths.map(snapshotFilesOf))
  const files = [...new Set(each.flatMap((e) => e.files))]
  const directories = each.flatMap((e) => (e.directory === undefined ? [] : [e.directory]))
  return {files, directories}
}
