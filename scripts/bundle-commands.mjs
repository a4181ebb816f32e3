#!/usr/bin/env node
// Part of `npm run build` (after tsc, before `oclif manifest`): each top-level command (dist/commands/*.js) becomes
// one file holding its own ~160 modules, in place, so a run loads one file instead of resolving, reading and
// linking each: `marks --json` 0.323 → 0.282 s on an empty netns, 0.756 → 0.721 s at 110k legacy rules (medians
// of 9, alternating).
//
// The modules the process loads apart from the command stay shared, imported from dist/ as they are, not copied:
// everything the entry (dist/entry/start.js), the CLI's main (dist/cli/main.js) and its help class load. They hold
// what must be one per process: the dumps started ahead (source/head-start.ts) the command takes over, the tree
// renderer's early thread, the error classes main's handler tests with instanceof. The commands under
// dist/commands/lab/ stay as tsc built them: the lab finds its files from its modules' place (lab/exec.ts).
import {build} from 'esbuild'
import {rebuildInPlace} from './rebuild-in-place.mjs'
import {readdirSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')

/** Every dist module the entry, main and help load, statically or by import(): one instance each per process. */
async function sharedModules() {
  const r = await build({
    entryPoints: ['entry/start.js', 'cli/main.js', 'cli/help.js'].map((f) => join(dist, f)),
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    outdir: join(dist, '.shared-probe'),
    logLevel: 'error',
  })
  return new Set(Object.keys(r.metafile.inputs).map((p) => resolve(root, p)).filter((p) => p.startsWith(`${dist}/`)))
}

const shared = await sharedModules()
const commands = readdirSync(join(dist, 'commands'), {withFileTypes: true}).filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => join(dist, 'commands', e.name))

for (const file of commands) {
  const keepShared = {
    name: 'keep-shared',
    setup(b) {
      b.onResolve({filter: /^\.\.?\//}, (a) => {
        const abs = resolve(a.resolveDir, a.path)
        if (!shared.has(abs)) return undefined
        const rel = relative(dirname(file), abs)
        return {path: rel.startsWith('.') ? rel : `./${rel}`, external: true}
      })
    },
  }
  await rebuildInPlace(file, {packages: 'external', plugins: [keepShared]})
}
