#!/usr/bin/env node
// Part of `npm run build` (after tsc): bundles the trace tree's worker thread (dist/render/trace-tree-worker.js, with
// ink, react, react-reconciler and yoga) into one file, dist/render/trace-tree-worker.bundle.js, which the thread
// runs when it is there (src/entry/tree-worker-url.ts).
//
// Why: loading ink's ~90 modules one by one costs the thread ~0.27 s of CPU (module resolution, file reads, and
// Node's cjs-module-lexer reading react's CommonJS for its named exports); one file costs ~0.07 s. On a 2-core node
// that CPU is taken from the main thread while it reads the node's dumps, so it shows in the command's time (issue
// 10's budget: the tree costs at most 0.2 s more than --json).
//
// What the bundle changes, each checked by test/render/trace-tree-bundle.test.ts:
// - src/render/ink-core.ts loads ink's three modules by computed paths, which a bundler cannot follow: here the same
//   files are imported statically (src/render/ink-core-modules.ts names them for both).
// - ink imports its React devtools connector only when DEV=true, and that needs react-devtools-core, which
//   nodeinspect does not ship: in the bundle it is an empty module.
// - ink and wrap-ansi measure every line, word and row with string-width, and wrap-ansi's copy (7.x) segments each
//   string with Intl.Segmenter even when it is plain ASCII (~0.05 s of a 50-line tree, on the critical path). In the
//   bundle a string made only of printable ASCII and the few symbols the tree prints (NARROW below) measures as its
//   length, the width both string-widths give each of those characters (the test checks every one, in both); any
//   other string, or a call with options, goes to string-width itself.
import {build} from 'esbuild'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const {INK_CORE_MODULES} = await import(pathToFileURL(join(root, 'dist/render/ink-core-modules.js')).href)
const inkBuild = dirname(createRequire(join(root, 'package.json')).resolve('ink'))

const inkCore = {
  name: 'ink-core',
  setup(b) {
    b.onResolve({filter: /^\.\/ink-core\.js$/}, (a) => ({path: join(a.resolveDir, 'ink-core.js'), namespace: 'ink-core'}))
    b.onLoad({filter: /.*/, namespace: 'ink-core'}, () => ({
      resolveDir: inkBuild,
      loader: 'js',
      contents: Object.entries(INK_CORE_MODULES)
        .map(([name, path]) => `import ${name} from ${JSON.stringify(`./${path}`)}\nexport {${name}}\n`)
        .join(''),
    }))
  },
}

const noDevtools = {
  name: 'no-devtools',
  setup(b) {
    b.onResolve({filter: /^\.\/devtools\.js$/}, (a) => (a.resolveDir === inkBuild ? {path: 'devtools.js', namespace: 'no-devtools'} : undefined))
    b.onLoad({filter: /.*/, namespace: 'no-devtools'}, () => ({loader: 'js', contents: 'export {}\n'}))
  },
}

/**
 * The characters besides printable ASCII that the trace tree draws (src/render/trace-tree.tsx) or its texts commonly
 * hold: each one column wide and a grapheme of its own, so a string of them measures as its length.
 */
const NARROW = '·→⇒…─–—├└│×≥≤≠'

const narrowFirst = {
  name: 'narrow-first',
  setup(b) {
    b.onResolve({filter: /^string-width$/}, async (a) => {
      if (a.pluginData === 'original') return undefined
      const original = await b.resolve(a.path, {kind: a.kind, resolveDir: a.resolveDir, importer: a.importer, pluginData: 'original'})
      if (original.errors.length > 0) return {errors: original.errors}
      return {path: original.path, namespace: 'narrow-first'}
    })
    b.onLoad({filter: /.*/, namespace: 'narrow-first'}, (a) => ({
      resolveDir: dirname(a.path),
      loader: 'js',
      contents: [
        `import stringWidth from ${JSON.stringify(a.path)}`,
        `const ONE_COLUMN_EACH = /^[\\x20-\\x7e${NARROW}]*$/`,
        'export default (text, options) => (options === undefined && typeof text === "string" && ONE_COLUMN_EACH.test(text) ? text.length : stringWidth(text, options))',
        '',
      ].join('\n'),
    }))
  },
}

const result = await build({
  entryPoints: [join(root, 'dist/render/trace-tree-worker.js')],
  outfile: join(root, 'dist/render/trace-tree-worker.bundle.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The thread runs with NODE_ENV=production (trace-tree-thread.ts threadEnv): react's production builds only.
  define: {'process.env.NODE_ENV': '"production"'},
  // react's CommonJS calls require(); an ES module has none of its own.
  banner: {js: "import {createRequire as __nodeinspectCreateRequire} from 'node:module'; const require = __nodeinspectCreateRequire(import.meta.url);"},
  plugins: [inkCore, noDevtools, narrowFirst],
  logLevel: 'warning',
})
if (result.errors.length > 0) process.exit(1)
