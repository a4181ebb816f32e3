// The trace tree is drawn on a worker thread that loads ink while the node is read (src/render/trace-tree-thread.ts):
// issue 10's budget for the tree's cost. These run the built modules in a child process, as the CLI does (`npm test`
// builds first).
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {drawsTraceTree, threadEnv} from '../../src/render/trace-tree-thread.js'
import {renderTraceTree} from '../../src/render/trace-tree.js'
import {ROOT} from '../helpers/fixtures.js'
import {hostile} from './hostile.js'
import {traceReport} from './trace-report.js'

const dir = mkdtempSync(join(tmpdir(), 'ni-tree-thread-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** A built module, for the scripts' imports. */
const dist = (path: string) => JSON.stringify(pathToFileURL(join(ROOT, 'dist', path)).href)

/**
 * SCRIPT run by node with ARGS, from a file (not -e: a worker inherits node's flags, and --input-type would fail
 * it), without the caller's NODE_ENV or colour settings.
 */
function node(script: string, args: string[] = []) {
  const file = join(dir, 'script.mjs')
  writeFileSync(file, script)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NODE_ENV', 'FORCE_COLOR', 'NO_COLOR'].includes(k))) as Record<string, string>
  const r = spawnSync(process.execPath, [...args, file], {encoding: 'utf8', env, timeout: 60_000})
  expect(r.status, r.stderr).toBe(0)
  return r.stdout
}

describe('the tree on its own thread', () => {
  it('draws byte for byte what renderTraceTree draws, whether the report comes before or after ink has loaded', () => {
    const reports = [traceReport((s) => s), traceReport(hostile)]
    const file = join(dir, 'reports.json')
    writeFileSync(file, JSON.stringify(reports))
    const out = node(`
      import {readFileSync} from 'node:fs'
      import {createRequire} from 'node:module'
      const {startTreeRenderer} = await import(${dist('render/trace-tree-thread.js')})
      const {treeWorkerUrl} = await import(${dist('entry/tree-worker-url.js')})
      const reports = JSON.parse(readFileSync(${JSON.stringify(file)}, 'utf8'))
      const early = await startTreeRenderer(false, treeWorkerUrl()).render(reports[0], 100)
      const late = startTreeRenderer(false, treeWorkerUrl())
      await new Promise((r) => setTimeout(r, 3000))
      const texts = [early, await late.render(reports[1], 400)]
      // react loaded on the thread, not here; and this process's environment is as it was.
      const react = Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules\\/react/.test(k))
      console.log(JSON.stringify({texts, react, env: [process.env.NODE_ENV ?? null, process.env.FORCE_COLOR ?? null]}))
    `)
    const r = JSON.parse(out) as {texts: string[]; react: string[]; env: unknown[]}
    expect(r.texts).toEqual([renderTraceTree(reports[0]!, 100), renderTraceTree(reports[1]!, 400)])
    expect(r.react).toEqual([])
    expect(r.env).toEqual([null, null])
  })

  it('has react in production mode and chalk told about colour, in its own environment only', () => {
    const env = {PATH: '/bin', NODE_ENV: 'development', NO_COLOR: '1'}
    expect(threadEnv(env, false)).toEqual({PATH: '/bin', NODE_ENV: 'production', NO_COLOR: '1', FORCE_COLOR: '0'})
    expect(threadEnv({PATH: '/bin'}, true)).toEqual({PATH: '/bin', NODE_ENV: 'production'})
    expect(env.NODE_ENV).toBe('development')
  })
})

describe('the entry point starting the thread before oclif loads', () => {
  it('does so for the arguments that draw a trace tree, and only those', () => {
    const tree = (line: string) => drawsTraceTree(line.split(' '))
    for (const yes of ['trace 10.0.0.1 10.0.0.2:80', 'trace 10.0.0.1 10.0.0.2:80 --netns n --format text', 'trace 10.0.0.1 10.0.0.2:80 --format=text --no-color']) expect(tree(yes), yes).toBe(true)
    for (const no of ['hooks', 'marks --json', 'trace 10.0.0.1 10.0.0.2:80 --json', 'trace 10.0.0.1 10.0.0.2:80 --format dot', 'trace 10.0.0.1 10.0.0.2:80 --format=svg', 'trace --help', 'trace -h']) expect(tree(no), no).toBe(false)
  })
})

