// The build bundles each top-level command into one file (scripts/bundle-commands.mjs), keeping what the entry and
// the CLI's main load as shared modules: one instance per process of the dumps started ahead, the tree's early
// thread and the error classes; and the CLI framework into one module all of them import (scripts/bundle-oclif.mjs).
// `npm test` builds first.
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/fixtures.js'
import {distModules} from '../../scripts/dist-modules.mjs'

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

describe('the CLI framework, bundled', () => {
  const VENDOR = join(DIST, 'vendor', 'oclif-core.js')
  it('every built module imports @oclif/core through dist/vendor/oclif-core.js', () => {
    const importers = distModules(DIST).filter((f) => relativeImports(f).includes(VENDOR))
    // main, help, the commands and the lab's commands at least.
    for (const m of ['cli/main.js', 'cli/help.js', 'commands/marks.js', 'commands/trace.js', 'commands/hooks.js', 'commands/lab/up.js']) expect(importers, m).toContain(join(DIST, m))
    const direct = distModules(DIST).filter((f) => /(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)["']@oclif\/core/m.test(readFileSync(f, 'utf8')))
    expect(direct.map((f) => f.slice(DIST.length + 1))).toEqual([])
  })
  it('a run loads none of the package\'s own files: --help (config, help class, every command\'s summary) and a command', () => {
    // Node puts every CommonJS file it loads, from require or import, in require.cache: listed when the run exits.
    const preload = join(tmpdir(), `ni-bundled-${process.pid}.cjs`)
    writeFileSync(preload, "process.on('exit', () => require('fs').writeSync(2, '\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'))\n")
    for (const args of [['--help'], ['marks', '--snapshot', join(ROOT, 'testdata/reference/node1.json'), '--json']]) {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, NODE_OPTIONS: `--require ${preload}`}})
      expect(r.status, r.stderr).toBe(0)
      const loaded = JSON.parse(/\nLOADED (.*)\n/.exec(r.stderr)![1]!) as string[]
      expect(loaded.filter((f) => f.includes('/node_modules/@oclif/core/')), args.join(' ')).toEqual([])
    }
  })
})
