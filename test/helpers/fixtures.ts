import {readFileSync, readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Read a file under testdata/. */
export function testdata(rel: string): string {
  return readFileSync(`${ROOT}testdata/${rel}`, 'utf8')
}

/** Every verbatim capture of one kind, e.g. fixtures('bpftool-net'). */
export function fixtures(dir: string): Array<{name: string; text: string}> {
  return readdirSync(`${ROOT}testdata/fixtures/${dir}`)
    .sort()
    .map((name) => ({name, text: readFileSync(`${ROOT}testdata/fixtures/${dir}/${name}`, 'utf8')}))
}

/** Sorted-key JSON with 2-space indent, so goldens diff cleanly. */
export function stableJson(v: unknown): string {
  return `${JSON.stringify(sortKeys(v), null, 2)}\n`
}

function sortKeys(v: unknown): unknown {
  if (v instanceof Map) return sortKeys(Object.fromEntries(v))
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]))
  return v
}

export function golden(rel: string): string {
  return `${ROOT}testdata/golden/${rel}`
}
