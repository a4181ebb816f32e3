// Seeds for the fuzzers: the real captures under testdata/ (fixtures/, the snapshots' recorded tool outputs,
// the Cilium map dumps, the xlated dumps), and where a probe has few, the examples its parser's own comments
// quote (taken from the source, so they follow it).
import {readFileSync, readdirSync} from 'node:fs'
import {ROOT} from '../helpers/fixtures.js'
import type {SnapshotFile} from '../../src/source/snapshot.js'
import type {RawOutput} from '../../src/source/types.js'
import {MAX_SEED, type Seed} from './kit.js'

const read = (rel: string) => readFileSync(`${ROOT}${rel}`, 'utf8')

/** Files of a testdata directory whose names pass `keep`. */
export function files(dir: string, keep: (name: string) => boolean = () => true): Seed[] {
  return readdirSync(`${ROOT}testdata/${dir}`)
    .filter(keep)
    .sort()
    .map((name) => ({name: `${dir}/${name}`, text: read(`testdata/${dir}/${name}`)}))
}

export const SNAPSHOT_FILES = ['testdata/snapshots/marks-node.json', 'testdata/reference/node1.json', 'testdata/reference/node2.json'] as const

export const snapshotText = (rel: string): string => read(rel)
export const snapshot = (rel: string): SnapshotFile => JSON.parse(read(rel)) as SnapshotFile

/** Every recorded output, in every snapshot, whose command line starts with `prefix`. */
export function recorded(prefix: string): Array<Seed & {output: RawOutput}> {
  const out: Array<Seed & {output: RawOutput}> = []
  for (const f of SNAPSHOT_FILES)
    for (const o of snapshot(f).outputs) {
      const cmd = o.argv.join(' ')
      if (cmd.startsWith(prefix)) out.push({name: `${f}: ${cmd}`, text: o.stdout, output: o})
    }
  return out
}

/** The `…` examples quoted in a parser's comments (e.g. `ip -j route` objects, `ip xfrm` lines). */
export function docExamples(srcRel: string): Seed[] {
  const src = read(srcRel)
  const out: Seed[] = []
  for (const line of src.split('\n')) {
    if (!/^\s*(\/\/|\*|\/\*\*)/.test(line)) continue
    for (const m of line.matchAll(/`([^`]{8,})`/g)) out.push({name: `${srcRel} comment`, text: m[1]!})
  }
  return out
}

/** The seeds of one fuzzer, each text once (the biggest only in the long mode); never none. */
export function seeds(...groups: Seed[][]): Seed[] {
  const all = groups.flat().filter((s) => s.text.length <= MAX_SEED)
  const seen = new Set<string>()
  const uniq = all.filter((s) => !seen.has(s.text) && (seen.add(s.text), true))
  if (uniq.length === 0) throw new Error('a fuzzer without seeds')
  return uniq
}
