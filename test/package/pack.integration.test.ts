// The package as a user gets it: `npm pack` from a copy of this checkout, `npm i -g` of the tarball into a
// throwaway prefix with npm's defaults (no install scripts), offline and with an empty npm cache, then
// `nodeinspect hooks` from that install against a live lab must see the lab's tcx programs, which only the
// prebuilt nodeinspect-bpf helper shows (Debian 12's bpftool 7.1 cannot). Both prebuilt helpers are static.
import {execFile, execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {HooksReport} from '../../src/analyses/hooks.js'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import type {LabState} from '../../src/lab/state.js'
import {labDown} from '../../src/lab/teardown.js'
import {labUp} from '../../src/lab/up.js'
import {ROOT} from '../helpers/fixtures.js'
import {LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from '../lab/live.js'

/** The cross gcc for the arch this machine is not (native/Makefile). */
const CROSS_GCC = process.arch === 'arm64' ? 'x86_64-linux-gnu-gcc' : 'aarch64-linux-gnu-gcc'
const PACK_TOOLS = ['npm', 'git', 'make', 'gcc', CROSS_GCC, 'file', 'cp']
const skipReason = [liveLabSkipReason(PACK_TOOLS), existsSync(`${ROOT}.git`) ? '' : `${ROOT} is not a git checkout (the package is packed from its tracked files)`]
  .filter(Boolean)
  .join('; ')
if (skipReason) console.warn(`test/package/pack.integration.test.ts: skipping: ${skipReason}`)
const qemu = checkLabPrerequisites(['qemu-aarch64-static']).missingTools.length === 0 ? 'qemu-aarch64-static' : checkLabPrerequisites(['qemu-aarch64']).missingTools.length === 0 ? 'qemu-aarch64' : undefined

const prefix = `nilab-t${process.pid}pk`
const work = mkdtempSync(`${tmpdir()}/ni-pack-`)

/** npm's own defaults: nothing of the npm that runs these tests (npm test sets npm_config_* for its scripts). */
function npmEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k) && k !== 'NODEINSPECT_BPF_HELPER') env[k] = v
  return env
}

/** Run a command in `cwd` (the project's runner has no cwd: its tools never need one); throws with its stderr. */
function must(file: string, args: string[], opts: {cwd?: string; timeoutMs?: number} = {}): Promise<{stdout: string; stderr: string; ms: number}> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    execFile(file, args, {cwd: opts.cwd ?? work, env: npmEnv(), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 2 ** 28, encoding: 'utf8'}, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr.slice(-4000)}`))
      else resolve({stdout, stderr, ms: performance.now() - started})
    })
  })
}

/** The checkout's files as a clean clone has them (tracked, plus new files not ignored), and its node_modules hard-linked. */
function stageCheckout(dest: string): void {
  const files = execFileSync('git', ['-C', ROOT, 'ls-files', '-co', '--exclude-standard', '-z'], {encoding: 'utf8'}).split('\0').filter((f) => f !== '' && f !== 'node_modules')
  for (const f of files) {
    const from = join(ROOT, f)
    if (!existsSync(from) || !statSync(from).isFile()) continue // deleted in the work tree, or a submodule
    mkdirSync(dirname(join(dest, f)), {recursive: true})
    copyFileSync(from, join(dest, f))
    chmodSync(join(dest, f), statSync(from).mode & 0o777)
  }
  // A real directory, not a symlink: npm packs bundled dependencies from where they really are, so a symlinked
  // node_modules would put them in the tarball as ../../… paths.
  const nm = realpathSync(join(ROOT, 'node_modules'))
  try {
    execFileSync('cp', ['-al', nm, join(dest, 'node_modules')])
  } catch {
    rmSync(join(dest, 'node_modules'), {recursive: true, force: true})
    execFileSync('cp', ['-a', nm, join(dest, 'node_modules')])
  }
}

describe.skipIf(!!skipReason)(`the packed package, installed (${skipReason || 'root, BPF, netns, npm, gcc and the arm64 cross gcc'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  let state: LabState
  let tarball: string
  const installed = `${work}/prefix`
  const pkgDir = `${installed}/lib/node_modules/nodeinspect`

  beforeAll(async () => {
    await sweepStaleLabs('pk')
    const src = `${work}/src`
    stageCheckout(src)
    // prepack: the build (dist/, the oclif manifest) and both static helpers; the machine is slow when loaded.
    const pack = await must('npm', ['pack', '--pack-destination', work, '--no-audit', '--no-fund'], {cwd: src, timeoutMs: 900_000})
    tarball = join(work, pack.stdout.trim().split('\n').at(-1)!)
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
    const pkg = JSON.parse(execFileSync('cat', [`${pkgDir}/package.json`], {encoding: 'utf8'})) as {scripts?: Record<string, string>}
    expect(Object.keys(pkg.scripts ?? {}).filter((s) => /^(pre|post)?(install|prepare)$/.test(s))).toEqual([])
    expect(readdirSync(`${pkgDir}/node_modules`)).toEqual(expect.arrayContaining(['@oclif', 'execa', 'ink', 'ipaddr.js', 'netlink', 'react']))
  })

  it('both helpers are static executables for their arch', async () => {
    const x64 = (await must('file', ['-b', `${pkgDir}/native/prebuilt/linux-x64/nodeinspect-bpf`])).stdout
    const arm64 = (await must('file', ['-b', `${pkgDir}/native/prebuilt/linux-arm64/nodeinspect-bpf`])).stdout
    console.log(`file: linux-x64: ${x64.trim()}\nfile: linux-arm64: ${arm64.trim()}`)
    expect(x64).toMatch(/ELF 64-bit LSB executable, x86-64, .*statically linked/)
    expect(arm64).toMatch(/ELF 64-bit LSB executable, ARM aarch64, .*statically linked/)
  })

  it.skipIf(!qemu)(`the arm64 helper runs (${qemu ?? 'no qemu-aarch64 here: apt-get install qemu-user-static'})`, async () => {
    const out = (await must(qemu!, [`${pkgDir}/native/prebuilt/linux-arm64/nodeinspect-bpf`, 'version'])).stdout
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
})
