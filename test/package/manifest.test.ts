// The package installs where it lands (issue 11): no script runs at install (npm 11 runs none by default, and a
// node has no compiler), and every runtime dependency travels inside the tarball (no registry on the node).
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/fixtures.js'

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {scripts: Record<string, string>; dependencies: Record<string, string>; bundleDependencies: string[]; files: string[]}

describe('package.json', () => {
  it('runs no script at install time; the build runs at pack time', () => {
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[s], s).toBeUndefined()
    expect(pkg.scripts.prepack).toMatch(/npm run build/)
  })

  it('bundles every runtime dependency and ships the prebuilt helpers', () => {
    expect([...pkg.bundleDependencies].sort()).toEqual(Object.keys(pkg.dependencies).sort())
    expect(pkg.files).toContain('native/prebuilt')
  })
})
