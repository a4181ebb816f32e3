/**
 * The trace tree thread's module (src/render/trace-tree-thread.ts runs it): the build's one-file bundle of it
 * (scripts/bundle-tree-renderer.mjs: ink and react load in a quarter of the CPU), else the module itself, as tsc
 * built it. Here, not in render/, which does no I/O.
 */
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export function treeWorkerUrl(): URL {
  const bundle = new URL('../render/trace-tree-worker.bundle.js', import.meta.url)
  return existsSync(fileURLToPath(bundle)) ? bundle : new URL('../render/trace-tree-worker.js', import.meta.url)
}
