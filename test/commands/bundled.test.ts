// The build bundles each top-level command into one file (scripts/bundle-commands.mjs), keeping what the entry and
// the CLI's main load as shared modules: one instance per process of the dumps started ahead, the tree's early
// thread and the error classes. `npm test` builds first.
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/fixtures.js'

const DIST = join(ROOT, 'dist')

/** The relative modules a built file imports, statically or by import(), as absolute paths. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)["'](\.\.?\/[^"']+)["']/gm)].map((m) => m[1]!)
  return [...new Set(specs.map((s) => resolve(dirname(file), s)))]
}

/** Every module the entry, main and help load (the closure of their relative imports). */
function sharedModules(): Set<string> {
  const seen = new Set<string>()
  const todo = ['entry/start.js', 'cli/main.js', 'cli/help.js'].map((f) => join(DIST, f))
  while (todo.length > 0) {
    const f = todo.pop()!
    if (seen.has(f) || !existsSync(f)) continue
    seen.add(f)
    todo.push(...relativeImports(f))
  }
  return seen
}

const commands = readdirSync(join(DIST, 'commands'), {withFileTypes: true}).filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => join(DIST, 'commands', e.name))

describe('the built commands', () => {
  const shared = sharedModules()
  it('the shared set holds the per-process state', () => {
    for (const m of ['source/head-start.js', 'render/trace-tree-thread.js', 'errors.js']) expect(shared.has(join(DIST, m)), m).toBe(true)
  })
  for (const file of commands) {
    it(`${file.slice(DIST.length + 1)}: one file, importing only shared modules, never a copy of them`, () => {
      const outside = relativeImports(file).filter((m) => !shared.has(m))
      expect(outside).toEqual([])
      const text = readFileSync(file, 'utf8')
      expect(text).not.toMatch(/function claimHeadStart\(|function startTreeRendererEarly\(|class UserError\b/)
    })
  }
  it('marks and trace hold their parser and analyses (bundled, not imported one by one)', () => {
    const text = (c: string) => readFileSync(join(DIST, 'commands', c), 'utf8')
    expect(text('marks.js')).toMatch(/function xtChainGraph\(/)
    expect(text('trace.js')).toMatch(/function runXtChain\(/)
    // esbuild assigns a lazily loaded module's class to its variable: `IptablesSaveParser = class {`.
    for (const c of ['marks.js', 'trace.js']) expect(text(c)).toMatch(/\bIptablesSaveParser = class\b/)
  })
})
