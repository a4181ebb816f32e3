// The package as a user gets it: `npm pack` from a copy of this checkout, `npm i -g` of the tarball into a
// throwaway prefix with npm's defaults (no install scripts), offline and with an empty npm cache, then
// `nodeinspect hooks` from that install against a live lab must see the lab's tcx programs, which only the
// prebuilt nodeinspect-bpf helper shows (Debian 12's bpftool 7.1 cannot). Both prebuilt helpers are static.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {HooksReport} from '../../src/analyses/hooks.js'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import type {LabState} from '../../src/lab/state.js'
import {labDown} from '../../src/lab/teardown.js'
import {labUp} from '../../src/lab/up.js'
import {LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from '../lab/live.js'
import {must, packCheckout, packSkipReason} from './pack-checkout.js'

/** The cross gcc for the arch this machine is not (native/Makefile). */
const CROSS_GCC = process.arch === 'arm64' ? 'x86_64-linux-gnu-gcc' : 'aarch64-linux-gnu-gcc'
const PACK_TOOLS = ['npm', 'git', 'make', 'gcc', CROSS_GCC, 'file', 'cp']
const skipReason = [liveLabSkipReason(PACK_TOOLS), packSkipReason()]
  .filter(Boolean)
  .join('; ')
if (skipReason) console.warn(`test/package/pack.integration.test.ts: skipping: ${skipReason}`)
const qemu = checkLabPrerequisites(['qemu-aarch64-static']).missingTools.length === 0 ? 'qemu-aarch64-static' : checkLabPrerequisites(['qemu-aarch64']).missingTools.length === 0 ? 'qemu-aarch64' : undefined

const prefix = `nilab-t${process.pid}pk`
const work = mkdtempSync(`${tmpdir()}/ni-pack-`)

describe.skipIf(!!skipReason)(`the packed package, installed (${skipReason || 'root, BPF, netns, npm, gcc and the arm64 cross gcc'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  let state: LabState
  let tarball: string
  const installed = `${work}/prefix`
  const pkgDir = `${installed}/lib/node_modules/nodeinspect`

  beforeAll(async () => {
    await sweepStaleLabs('pk')
    const pack = await packCheckout(work)
    tarball = pack.tarball
    console.log(`npm pack: ${tarball}, ${(statSync(tarball).size / 1e6).toFixed(1)} MB, ${(pack.ms / 1000).toFixed(0)} s`)
    // The user's command, with npm's defaults; --offline and an empty cache prove that nothing is fetched.
    const inst = await must('npm', ['i', '-g', '--prefix', installed, '--offline', '--cache', `${work}/npm-cache`, '--no-audit', '--no-fund', tarball], {cwd: work, timeoutMs: 600_000})
    console.log(`npm i -g: ${(inst.ms / 1000).toFixed(0)} s: ${inst.stdout.trim()}`)
    state = await labUp({prefix})
  }, 1_800_000)

  afterAll(async () => {
    await labDown(prefix)
    rmSync(work, {recursive: true, force: true})
  })

  it('ships dist/, the oclif manifest and both helpers, and runs no install script', () => {
    for (const f of ['bin/run.js', 'dist/commands/hooks.js', 'oclif.manifest.json', 'native/prebuilt/linux-x64/nodeinspect-bpf', 'native/prebuilt/linux-arm64/nodeinspect-bpf']) expect(existsSync(`${pkgDir}/${f}`), f).toBe(true)
    // prepare (the build) would have made native/build; the package has no install-time script to run.
    expect(existsSync(`${pkgDir}/native/build`)).toBe(false)
    const pkg = JSON.parse(execFileSync('cat', [`${pkgDir}/package.json`], {encoding: 'utf8'})) as {scripts?: Record<string, string>; dependencies: Record<string, string>}
    expect(Object.keys(pkg.scripts ?? {}).filter((s) => /^(pre|post)?(install|prepare)$/.test(s))).toEqual([])
    // Every runtime dependency travels inside the package (bundled): installing fetches nothing.
    for (const d of Object.keys(pkg.dependencies)) expect(existsSync(`${pkgDir}/node_modules/${d}/package.json`), d).toBe(true)
  })

  it('both helpers are static executables for their arch', async () => {
    const x64 = (await must('file', ['-b', `${pkgDir}/native/prebuilt/linux-x64/nodeinspect-bpf`], {cwd: work})).stdout
    const arm64 = (await must('file', ['-b', `${pkgDir}/native/prebuilt/linux-arm64/nodeinspect-bpf`], {cwd: work})).stdout
    console.log(`file: linux-x64: ${x64.trim()}\nfile: linux-arm64: ${arm64.trim()}`)
    expect(x64).toMatch(/ELF 64-bit LSB executable, x86-64, .*statically linked/)
    expect(arm64).toMatch(/ELF 64-bit LSB executable, ARM aarch64, .*statically linked/)
  })

  it.skipIf(!qemu)(`the arm64 helper runs (${qemu ?? 'no qemu-aarch64 here: apt-get install qemu-user-static'})`, async () => {
    const out = (await must(qemu!, [`${pkgDir}/native/prebuilt/linux-arm64/nodeinspect-bpf`, 'version'], {cwd: work})).stdout
    expect(JSON.parse(out)).toEqual({helper: 'nodeinspect-bpf', version: 1})
  })

  it('nodeinspect hooks from the install sees the lab tcx programs', async () => {
    const netns = `${prefix}-node1`
    const r = await must(`${installed}/bin/nodeinspect`, ['hooks', '--netns', netns, '--json'], {cwd: work, timeoutMs: 300_000})
    const report = JSON.parse(r.stdout) as HooksReport
    expect(report.tcxVisibility).toMatchObject({helper: 'ok', kernelHasTcx: true})
    const want = state.attachments.filter((a) => a.netns === netns && a.kind.startsWith('tcx/')).map((a) => `${a.devname} ${a.kind.replace('/', '-')} ${a.progId}`).sort()
    expect(want.length).toBeGreaterThan(0)
    const seen = report.devices.flatMap((d) => d.hooks.filter((h) => h.hook.startsWith('tcx-')).map((h) => `${d.name} ${h.hook} ${h.progId}`)).sort()
    expect(seen).toEqual(want)
    console.log(`tcx programs seen by the installed nodeinspect: ${seen.join(', ')}`)
    const text = await must(`${installed}/bin/nodeinspect`, ['hooks', '--netns', netns], {cwd: work, timeoutMs: 300_000})
    console.log(text.stdout.split('\n').slice(0, 2).join('\n'))
    expect(text.stdout.split('\n')[1]).toMatch(/tcx\/netkit via BPF_PROG_QUERY \(nodeinspect-bpf\)/)
  })

  it('the rest of issue 11 works from the install too: a gzipped snapshot, trace --format svg, diff, marks --all-bits, completion', async () => {
    const bin = `${installed}/bin/nodeinspect`
    const netns = `${prefix}-node1`
    const snap = `${work}/node1.json.gz`
    await must(bin, ['snapshot', '--netns', netns, '-o', snap], {cwd: work, timeoutMs: 300_000})
    const svg = await must(bin, ['trace', '10.42.1.80', '10.42.0.51:80', '--snapshot', snap, '--format', 'svg'], {cwd: work, timeoutMs: 300_000})
    expect(svg.stdout).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*<g id="s1" class="node">[\s\S]*<\/svg>\s*$/)
    const diff = await must(bin, ['diff', snap, '--netns', netns, '--json'], {cwd: work, timeoutMs: 300_000})
    expect(JSON.parse(diff.stdout)).toMatchObject({schema: 'nodeinspect.diff/v1'})
    const marks = await must(bin, ['marks', '--snapshot', snap, '--all-bits'], {cwd: work, timeoutMs: 300_000})
    expect(marks.stdout).toContain('Bits of the packet mark\n')
    const completion = await must(bin, ['completion', 'bash'], {cwd: work, timeoutMs: 60_000})
    expect(completion.stdout).toContain('complete -F _nodeinspect_complete nodeinspect')
  })
})
