// The import graph of src/ runs one way (issue 8): every import of every src/**/*.ts(x) file, static and dynamic
// (`import('…')`), mapped to its top folder (src/<folder>/…; src/errors.ts is a folder of its own), must
// (a) leave the folder graph without a cycle, (b) go only to folders the table below allows, and (c) do no I/O in
// the pure folders. KNOWN_VIOLATIONS held the violations while the refactor ran; it is empty now, and any
// violation fails.
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import ts from 'typescript'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/fixtures.js'

/** Folder → the folders it may import (itself always). Folders that do not exist yet are fine. */
const ALLOWED: Readonly<Record<string, readonly string[] | 'anything'>> = {
  model: ['util', 'errors'],
  util: [],
  errors: [],
  knowledge: ['model', 'util'],
  source: ['model', 'errors', 'util'],
  probes: ['source', 'model', 'util', 'errors'],
  bpf: ['model', 'util'],
  datapaths: ['probes', 'bpf', 'model', 'knowledge', 'util', 'errors'],
  oracle: ['source', 'probes', 'model', 'util', 'errors'],
  state: ['probes', 'source', 'oracle', 'datapaths', 'bpf', 'model', 'knowledge', 'util', 'errors'],
  analyses: ['model', 'knowledge', 'datapaths', 'bpf', 'util', 'errors'],
  render: ['model', 'analyses', 'util'],
  cli: ['source', 'model', 'errors', 'util'],
  lab: ['source', 'cli', 'model', 'errors', 'util'],
  commands: 'anything',
  // The process entry (bin/run.js): starts the slow reads before oclif loads, then runs it.
  entry: 'anything',
}

/** Folders that hold pure code: no process, file, socket or netlink I/O, and no Source. */
const PURE = ['analyses', 'bpf', 'model', 'knowledge', 'render', 'datapaths']
/** What a pure folder may not import: modules (a subpath counts, `node:fs/promises` as node:fs), and src/source/. */
const IO_MODULES = ['node:child_process', 'node:fs', 'node:net', 'execa', 'netlink']

interface Violation {
  from: string
  to: string
  file: string
}

/**
 * Today's violations, one per edge and file that causes it: `to` is a folder for (b), a module or `source` for
 * (c). Remove an entry when its import goes; never add one.
 */
// Empty since issue 8: every folder imports only what its row allows. Keep it empty (fix the import instead).
const KNOWN_VIOLATIONS: readonly Violation[] = []

const SRC = join(ROOT, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : []
  })
}

/** src/<folder>/… → folder; a file directly in src/ is a folder of its own, named after it (errors). */
function folderOf(abs: string): string {
  const [first, ...rest] = relative(SRC, abs).split('/')
  return rest.length === 0 ? first!.replace(/\.[jt]sx?$/, '') : first!
}

/** `node:fs/promises`, `fs` → node:fs; `netlink/dist/rt/rt.js` → netlink; `@oclif/core` stays. */
function moduleName(spec: string): string {
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec
  const parts = bare.split('/')
  const name = bare.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
  return spec.startsWith('node:') || ['child_process', 'fs', 'net'].includes(name) ? `node:${name}` : name
}

interface Import {
  file: string
  from: string
  /** A src folder for relative imports, else undefined. */
  toFolder?: string
  module?: string
}

/** Every import specifier of a file, as the TypeScript scanner sees them (comments and strings do not count). */
function importsOf(abs: string): Import[] {
  const file = relative(ROOT, abs)
  const from = folderOf(abs)
  return ts.preProcessFile(readFileSync(abs, 'utf8'), true, true).importedFiles.map(({fileName: spec}) => {
    if (!spec.startsWith('.')) return {file, from, module: moduleName(spec)}
    const target = resolve(abs, '..', spec)
    return relative(SRC, target).startsWith('..') ? {file, from, module: spec} : {file, from, toFolder: folderOf(target)}
  })
}

const files = sourceFiles(SRC)
const imports = files.flatMap(importsOf)

/** (b) and (c), one entry per edge and file. */
function violations(): Violation[] {
  const out = new Map<string, Violation>()
  const add = (v: Violation) => out.set(`${v.from} → ${v.to} ${v.file}`, v)
  for (const i of imports) {
    if (i.toFolder !== undefined && i.toFolder !== i.from) {
      const allowed = ALLOWED[i.from]
      if (allowed !== 'anything' && !allowed?.includes(i.toFolder)) add({from: i.from, to: i.toFolder, file: i.file})
    }
    if (PURE.includes(i.from)) {
      if (i.toFolder === 'source') add({from: i.from, to: 'source', file: i.file})
      if (i.module !== undefined && IO_MODULES.includes(i.module)) add({from: i.from, to: i.module, file: i.file})
    }
  }
  return [...out.values()]
}

const key = (v: Violation) => `${v.from} → ${v.to} (${v.file})`
const isKnown = (v: Violation) => KNOWN_VIOLATIONS.some((k) => key(k) === key(v))

/** A cycle of the folder graph, as `a → b → a`, or undefined. Depth-first, folders and edges in sorted order. */
function findCycle(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'open')
    stack.push(n)
    for (const m of [...(edges.get(n) ?? [])].sort()) {
      if (state.get(m) === 'open') return [...stack.slice(stack.indexOf(m)), m]
      if (state.get(m) === undefined) {
        const c = visit(m)
        if (c) return c
      }
    }
    stack.pop()
    state.set(n, 'done')
    return undefined
  }
  for (const n of [...edges.keys()].sort()) {
    if (state.get(n) !== undefined) continue
    const c = visit(n)
    if (c) return c
  }
  return undefined
}

describe('the import graph of src/ (issue 8)', () => {
  it('reads the imports of every source file, dynamic ones included', () => {
    expect(files.length).toBeGreaterThan(50)
    // commands/lab/up.ts loads the lab with import(): it must be seen.
    expect(imports.some((i) => i.file === 'src/commands/lab/up.ts' && i.toFolder === 'lab')).toBe(true)
    expect(imports.filter((i) => i.toFolder === undefined && i.module?.startsWith('.'))).toEqual([])
  })

  it('(a) the folder graph has no cycle, once the known violations are set aside', () => {
    const edges = new Map<string, Set<string>>()
    for (const i of imports) {
      if (i.toFolder === undefined || i.toFolder === i.from) continue
      if (isKnown({from: i.from, to: i.toFolder, file: i.file})) continue
      edges.set(i.from, (edges.get(i.from) ?? new Set()).add(i.toFolder))
    }
    const cycle = findCycle(edges)
    expect(cycle, `import cycle between folders: ${cycle?.join(' → ')}`).toBeUndefined()
  })

  it('(b, c) each folder imports only the folders its table row allows, and pure folders do no I/O', () => {
    const found = violations()
    const fresh = found.filter((v) => !isKnown(v)).map(key)
    expect(fresh, 'new violations (fix the import; see ALLOWED and PURE)').toEqual([])
  })

  it('KNOWN_VIOLATIONS lists only violations that still occur, once each', () => {
    const found = new Set(violations().map(key))
    const gone = KNOWN_VIOLATIONS.map(key).filter((k) => !found.has(k))
    expect(gone, 'fixed: remove these from KNOWN_VIOLATIONS').toEqual([])
    expect(new Set(KNOWN_VIOLATIONS.map(key)).size).toBe(KNOWN_VIOLATIONS.length)
  })
})
