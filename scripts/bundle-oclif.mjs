#!/usr/bin/env node
// Part of `npm run build` (after bundle-commands.mjs, before `oclif manifest`): the CLI framework, @oclif/core with
// the ~150 modules it requires (semver, minimatch, tinyglobby, ejs, ansis…), becomes one ES module,
// dist/vendor/oclif-core.js, and every dist module that imports '@oclif/core' imports that file instead, so the
// process loads exactly one copy of it (oclif's Config, the help class and the commands share its classes).
//
// Why: requiring @oclif/core costs ~70 ms of every run on this kind of machine, most of it resolving, reading and
// wrapping each CommonJS file; the one file costs ~35 ms. An ES module, not CommonJS: importing a CommonJS file
// from ESM makes Node scan its whole text for export names (cjs-module-lexer), which on 0.7 MB took back more than
// the bundle saved (docs/kernel-notes.md#kn-31-start-up has the figures).
//
// What the bundle leaves out: the TypeScript loaders oclif requires only in development (typescript, ts-node,
// tsx), which nodeinspect neither ships nor uses. Its own `require` calls of Node built-ins go through the
// banner's createRequire.
import {build} from 'esbuild'
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {distModules} from './dist-modules.mjs'
import {rebuildInPlace} from './rebuild-in-place.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const vendorFile = join(dist, 'vendor', 'oclif-core.js')
const OCLIF = '@oclif/core'

// The package's named exports, as Node gives them to `import {…} from '@oclif/core'`.
const names = Object.keys(createRequire(join(root, 'package.json'))(OCLIF)).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n))
await build({
  stdin: {contents: `import * as core from '${OCLIF}'\nexport const {${names.join(', ')}} = core\n`, resolveDir: root, loader: 'js'},
  outfile: vendorFile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['typescript', 'ts-node', 'tsx'],
  banner: {js: "import {createRequire as vendorCreateRequire} from 'node:module';\nconst require = vendorCreateRequire(import.meta.url);"},
  logLevel: 'warning',
})

// Each module that imports the framework is rewritten in place with that one import pointed at the bundle; every
// other import stays as it is (external).
let rewritten = 0
for (const file of distModules(dist)) {
  const text = readFileSync(file, 'utf8')
  if (!text.includes(`'${OCLIF}'`) && !text.includes(`"${OCLIF}"`)) continue
  const toVendor = relative(dirname(file), vendorFile)
  await rebuildInPlace(file, {
    plugins: [
      {
        name: 'oclif-to-vendor',
        setup(b) {
          b.onResolve({filter: /.*/}, (a) => {
            if (a.kind === 'entry-point') return undefined
            if (a.path === OCLIF) return {path: toVendor.startsWith('.') ? toVendor : `./${toVendor}`, external: true}
            if (a.path.startsWith(`${OCLIF}/`)) throw new Error(`${file}: import the package root, not ${a.path}: the bundle has only its root's exports`)
            return {path: a.path, external: true}
          })
        },
      },
    ],
  })
  rewritten++
}
if (rewritten === 0) throw new Error(`bundle-oclif: no module in ${dist} imports ${OCLIF}: is this run after tsc?`)
