// Every built module under a dist directory, the CLI framework's bundle (dist/vendor) aside: what bundle-oclif.mjs
// rewrites, and what test/commands/bundled.test.ts checks it rewrote.
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

export function distModules(dir) {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'vendor' ? [] : distModules(p)
    return e.isFile() && e.name.endsWith('.js') ? [p] : []
  })
}
