// What the build steps that rewrite a dist module where it is share (bundle-commands.mjs, bundle-oclif.mjs): esbuild
// bundling `file` into an ES module for Node 20, written over itself; `options` adds what each step resolves.
import {build} from 'esbuild'

export function rebuildInPlace(file, options) {
  return build({entryPoints: [file], outfile: file, allowOverwrite: true, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning', ...options})
}
