import {describe, expect, it} from 'vitest'
import {chooseBpfHelper} from '../../src/source/helper-path.js'

const build = (mtimeMs: number | undefined) => ({path: '/pkg/native/build/nodeinspect-bpf', mtimeMs})
const prebuilt = (mtimeMs: number | undefined) => ({path: '/pkg/native/prebuilt/linux-x64/nodeinspect-bpf', mtimeMs})
// npm pack stores every file with this mtime (1985-10-26T08:15:00Z); npm i gives them the install's time.
const NPM_TARBALL_MTIME = Date.parse('1985-10-26T08:15:00Z')
const NOW = Date.parse('2026-05-01T10:00:00Z')

describe('which nodeinspect-bpf to run', () => {
  it('an installed package (no local build): the prebuilt one', () => {
    expect(chooseBpfHelper(build(undefined), prebuilt(NPM_TARBALL_MTIME))).toBe(prebuilt(0).path)
  })

  it('a local build made after the package landed wins over the shipped one', () => {
    expect(chooseBpfHelper(build(NOW), prebuilt(NPM_TARBALL_MTIME))).toBe(build(0).path)
  })

  it('in a checkout, the later of make -C native and npm pack (equal mtimes: the local build)', () => {
    expect(chooseBpfHelper(build(NOW - 1000), prebuilt(NOW))).toBe(prebuilt(0).path)
    expect(chooseBpfHelper(build(NOW), prebuilt(NOW))).toBe(build(0).path)
  })

  it('no prebuilt for this arch (e.g. ppc64): the local build', () => {
    expect(chooseBpfHelper(build(NOW), undefined)).toBe(build(0).path)
  })

  it('neither: the local build path, absent, so the probes say the helper is missing', () => {
    expect(chooseBpfHelper(build(undefined), prebuilt(undefined))).toBe(build(0).path)
    expect(chooseBpfHelper(build(undefined), undefined)).toBe(build(0).path)
  })
})
