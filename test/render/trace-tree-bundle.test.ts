// The trace tree's thread runs the one-file bundle the build makes (scripts/bundle-tree-renderer.mjs): it must draw
// what the modules draw unbundled, byte for byte, and its one change of behaviour (strings of one-column characters
// measured by their length) must be what every string-width it replaces says. `npm test` builds first.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {renderTraceTree} from '../../src/render/trace-tree.js'
import {ROOT} from '../helpers/fixtures.js'
import {hostile} from './hostile.js'
import {traceReport} from './trace-report.js'

const bundle = join(ROOT, 'dist/render/trace-tree-worker.bundle.js')
const dir = mkdtempSync(join(tmpdir(), 'ni-tree-bundle-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** The bundle's text, as the build wrote it. */
const bundleText = () => readFileSync(bundle, 'utf8')

describe('the bundled tree renderer', () => {
  it('is the module the built thread starts', async () => {
    const built = (await import(pathToFileURL(join(ROOT, 'dist/entry/tree-worker-url.js')).href)) as typeof import('../../src/entry/tree-worker-url.js')
    expect(fileURLToPath(built.treeWorkerUrl())).toBe(bundle)
  })

  it('imports nothing but Node built-ins: ink, react, yoga and their dependencies are all inside it, devtools none', () => {
    const text = bundleText()
    const from = [...text.matchAll(/^import\s[^;'"]*?from\s*["']([^"']+)["']/gm)].map((m) => m[1])
    expect(from.length).toBeGreaterThan(0)
    expect(from.filter((m) => !m!.startsWith('node:'))).toEqual([])
    expect(text).not.toMatch(/import\(["'](?!node:)/)
    // ink's devtools module is empty: only the warning text ink prints when DEV=true still names the package.
    expect(text).not.toMatch(/(?:import\(|require\(|from)\s*["']react-devtools-core/)
  })

  it('draws byte for byte what the unbundled modules draw, at every width, for ASCII, one-column symbols and wide text', () => {
    const narrow = (s: string) => `${s} → ⇒ · … — ├─ └─ × ≥`
    const wide = (s: string) => `${s} 名前空間 🚀 e\u0301 \u200b ｆｕｌｌ`
    const reports = [traceReport((s) => s), traceReport(narrow), traceReport(wide), traceReport(hostile)]
    const columns = [20, 41, 80, 120]
    const file = join(dir, 'reports.json')
    writeFileSync(file, JSON.stringify(reports))
    const script = join(dir, 'render.mjs')
    // The bundle as a thread runs it: a report posted to it comes back drawn.
    writeFileSync(
      script,
      `import {readFileSync} from 'node:fs'
       import {Worker} from 'node:worker_threads'
       const reports = JSON.parse(readFileSync(${JSON.stringify(file)}, 'utf8'))
       const texts = []
       for (const report of reports) for (const columns of ${JSON.stringify(columns)}) {
         const w = new Worker(new URL(${JSON.stringify(pathToFileURL(bundle).href)}), {env: {...process.env, NODE_ENV: 'production', FORCE_COLOR: '0'}})
         texts.push(await new Promise((resolve, reject) => { w.on('message', (m) => resolve(m.text ?? m.error)).on('error', reject); w.postMessage({report, columns}) }))
         await w.terminate()
       }
       console.log(JSON.stringify(texts))`,
    )
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NODE_ENV', 'FORCE_COLOR', 'NO_COLOR'].includes(k))) as Record<string, string>
    const r = spawnSync(process.execPath, [script], {encoding: 'utf8', env, timeout: 120_000})
    expect(r.status, r.stderr).toBe(0)
    const texts = JSON.parse(r.stdout) as string[]
    expect(texts).toEqual(reports.flatMap((report) => columns.map((c) => renderTraceTree(report, c))))
    // The wide report wraps differently from the ASCII one: the fallback to string-width was taken.
    expect(texts[8]).not.toEqual(texts[0])
  })

  it("measures a string by its length only where every string-width it replaces agrees: each character's width is 1", async () => {
    const text = bundleText()
    // The one-column class, as the build wrote it: `/^[\x20-\x7e…]*$/`.
    const cls = /ONE_COLUMN_EACH = \/\^\[\\x20-\\x7e([^\]]*)\]\*\$\//.exec(text)
    expect(cls, 'ONE_COLUMN_EACH in the bundle').not.toBeNull()
    const symbols = [...cls![1]!]
    expect(symbols).toEqual(expect.arrayContaining(['→', '⇒', '·', '├', '└', '─']))
    const ascii = Array.from({length: 0x7f - 0x20}, (_, i) => String.fromCharCode(0x20 + i))
    // Every string-width the bundle wraps, by the path the build names in its comments.
    const copies = [...new Set([...text.matchAll(/^\/\/ narrow-first:(.+)$/gm)].map((m) => m[1]!))]
    expect(copies.length).toBeGreaterThanOrEqual(2) // ink's own and wrap-ansi's
    for (const copy of copies) {
      const {default: stringWidth} = (await import(pathToFileURL(copy).href)) as {default: (s: string) => number}
      for (const c of [...ascii, ...symbols]) expect(stringWidth(c), `${copy}: ${JSON.stringify(c)}`).toBe(1)
      const mixed = `${ascii.join('')}${symbols.join('')}-A KUBE-SVC-X → 10.0.0.1:80 ⇒ ACCEPT`
      expect(stringWidth(mixed), copy).toBe(mixed.length)
    }
  })
})
