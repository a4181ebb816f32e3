/**
 * The three pieces of ink the trace tree uses, loaded without ink's index: the index also loads ink's live renderer
 * (render(), stdin, the terminal) and with it es-toolkit's compat barrel, ~470 modules and ~0.2 s that
 * renderToString never uses. They are the very modules the index re-exports (test/render/ink-core.test.ts); ink is
 * pinned and bundled with nodeinspect, so their paths are the tested ones.
 */
import {createRequire} from 'node:module'
import {pathToFileURL} from 'node:url'
import type * as Ink from 'ink'
import {INK_CORE_MODULES} from './ink-core-modules.js'

/** …/ink/build/index.js: ink's one entry point (its package exports nothing else). */
const index = pathToFileURL(createRequire(import.meta.url).resolve('ink'))
const load = <T>(path: string): Promise<T> => import(new URL(path, index).href).then((m: {default: T}) => m.default)

export const [renderToString, Box, Text] = await Promise.all([
  load<typeof Ink.renderToString>(INK_CORE_MODULES.renderToString),
  load<typeof Ink.Box>(INK_CORE_MODULES.Box),
  load<typeof Ink.Text>(INK_CORE_MODULES.Text),
])
