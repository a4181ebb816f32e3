// src/render/ink-core.ts loads three of ink's modules by their paths, past ink's index (which costs ~0.2 s more):
// they must be the very functions the index exports, or an ink upgrade moved them; and the index must stay unloaded.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import * as ink from 'ink'
import {afterAll, describe, expect, it} from 'vitest'
import {Box, renderToString, Text} from '../../src/render/ink-core.js'
import {ROOT} from '../helpers/fixtures.js'
import {traceReport} from './trace-report.js'

const dir = mkdtempSync(join(tmpdir(), 'ni-ink-core-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('ink-core', () => {
  it("is ink's own renderToString, Box and Text, not copies", () => {
    expect(renderToString).toBe(ink.renderToString)
    expect(Box).toBe(ink.Box)
    expect(Text).toBe(ink.Text)
  })

  it("keeps ink's index, its live renderer and es-toolkit's compat barrel (~470 modules) out of the built tree renderer", () => {
    const seen = join(dir, 'loaded.txt')
    // Every module Node loads, written down by a load hook (it runs on the loader's own thread).
    const hook = `import {appendFileSync} from 'node:fs'; export async function load(url, context, next) { appendFileSync(${JSON.stringify(seen)}, url + '\\n'); return next(url, context) }`
    const register = `import {register} from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})`
    const tree = pathToFileURL(join(ROOT, 'dist/render/trace-tree.js')).href // built: `npm test` builds first
    const script = `const {renderTraceTree} = await import(${JSON.stringify(tree)}); console.log(renderTraceTree(${JSON.stringify(traceReport((s) => s))}, 120).length)`
    const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], {encoding: 'utf8', timeout: 60_000})
    expect(r.status, r.stderr).toBe(0)
    expect(Number(r.stdout)).toBeGreaterThan(100)
    const loaded = readFileSync(seen, 'utf8').split('\n').filter(Boolean)
    expect(loaded.some((u) => u.endsWith('/ink/build/render-to-string.js'))).toBe(true)
    expect(loaded.filter((u) => /\/ink\/build\/(index|ink|render)\.js$|\/es-toolkit\//.test(u))).toEqual([])
  })
})
