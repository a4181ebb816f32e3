// The Containerfile as `kubectl debug node/…` runs it: built with podman on a Debian 12 root made here by
// debootstrap (plus this machine's Node.js 20 in /usr/local, where the official node image has it), the packed
// nodeinspect installed in it; then `hooks` and `trace` from inside the container (host network, bpffs,
// /run/netns and the host's PID namespace shared, privileged) must give the answer the host's own run gives.
import {execFileSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {HooksReport} from '../../src/analyses/hooks.js'
import {labDown} from '../../src/lab/teardown.js'
import {labUp} from '../../src/lab/up.js'
import {cli} from '../helpers/cli.js'
import {ROOT} from '../helpers/fixtures.js'
import {LIVE_LAB_TEST_TIMEOUT, liveLabSkipReason, sweepStaleLabs} from '../lab/live.js'
import {must, packCheckout, packSkipReason} from './pack-checkout.js'

const CONTAINER_TOOLS = ['npm', 'git', 'make', 'gcc', process.arch === 'arm64' ? 'x86_64-linux-gnu-gcc' : 'aarch64-linux-gnu-gcc', 'podman', 'runc', 'debootstrap', 'tar']
const skipReason = [liveLabSkipReason(CONTAINER_TOOLS), packSkipReason()].filter(Boolean).join('; ')
if (skipReason) console.warn(`test/package/container.integration.test.ts: skipping: ${skipReason}`)

/** Kept between runs (debootstrap takes minutes): a Debian 12 minbase root with Node.js 20 and npm in /usr/local. */
const BASE = 'localhost/nodeinspect-test-base:bookworm-node20'
const IMAGE = `localhost/nodeinspect-test:${process.pid}`
const prefix = `nilab-t${process.pid}pk`
const work = mkdtempSync(`${tmpdir()}/ni-container-`)

function rlimit(name: string): number {
  const m = new RegExp(`^${name}\\s+\\S+\\s+(\\d+)`, 'm').exec(readFileSync('/proc/self/limits', 'utf8'))
  return m ? Number(m[1]) : 1024
}

/**
 * How podman runs a container on this machine, and why each flag: crun refuses a hybrid cgroup layout with a
 * controller on the v2 hierarchy ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"),
 * runc does not; podman's default rlimits (nofile 1048576) exceed this sandbox's hard limits and raising them
 * needs CAP_SYS_RESOURCE, which it lacks, and conmon lowers RLIMIT_NPROC to 32768 before the runtime sets it: so
 * the limits we already have, nproc at most 32768. Then what `kubectl debug --profile=sysadmin` gives a node
 * debug pod: the host's network (hostNetwork), privileges, the host's PID namespace (hostPID) and, mounted, the
 * bpffs and the named network namespaces.
 */
function runArgs(): string[] {
  const nofile = rlimit('Max open files')
  const nproc = Math.min(rlimit('Max processes'), 32_768)
  return ['run', '--rm', '--runtime', 'runc', '--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`, '--net=host', '--pid=host', '--privileged', '-v', '/sys/fs/bpf:/sys/fs/bpf', '-v', '/run/netns:/run/netns', '-e', 'NO_COLOR=1', IMAGE]
}

async function ensureBase(): Promise<void> {
  const exists = await must('podman', ['image', 'exists', BASE], {cwd: work}).then(
    () => true,
    () => false,
  )
  if (exists) return
  const root = join(work, 'rootfs')
  await must('debootstrap', ['--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian'], {cwd: work, timeoutMs: 1_200_000})
  // This machine's Node.js (Debian 12's libc, as the root's), where the official node image keeps it.
  mkdirSync(join(root, 'usr/local/bin'), {recursive: true})
  mkdirSync(join(root, 'usr/local/lib/node_modules'), {recursive: true})
  cpSync(process.execPath, join(root, 'usr/local/bin/node'))
  const npmDir = execFileSync('npm', ['root', '-g'], {encoding: 'utf8'}).trim()
  cpSync(join(npmDir, 'npm'), join(root, 'usr/local/lib/node_modules/npm'), {recursive: true})
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'))
  execFileSync('sh', ['-c', 'tar -C "$1" -c . | podman import - "$2"', 'sh', root, BASE], {stdio: 'ignore'})
  rmSync(root, {recursive: true, force: true})
}

describe.skipIf(!!skipReason)(`the Containerfile's image against the lab (${skipReason || 'root, BPF, netns, podman with runc, debootstrap'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  beforeAll(async () => {
    await sweepStaleLabs('pk')
    await ensureBase()
    const ctx = join(work, 'ctx')
    mkdirSync(ctx)
    await packCheckout(ctx)
    cpSync(`${ROOT}Containerfile`, join(ctx, 'Containerfile'))
    // chroot isolation: the RUN steps need no OCI runtime (crun's refusal above), only the network for apt-get.
    await must('podman', ['build', '--isolation=chroot', '--build-arg', `BASE=${BASE}`, '-t', IMAGE, '-f', 'Containerfile', '.'], {cwd: ctx, timeoutMs: 1_200_000})
    await labUp({prefix})
  }, 2_400_000)

  afterAll(async () => {
    await labDown(prefix)
    await must('podman', ['rmi', '-f', IMAGE], {cwd: work}).catch(() => undefined)
    rmSync(work, {recursive: true, force: true})
  })

  it('hooks from the container: the answer of the host, tcx programs included', async () => {
    for (const node of ['node1', 'node2']) {
      const netns = `${prefix}-${node}`
      const inside = JSON.parse((await must('podman', [...runArgs(), 'nodeinspect', 'hooks', '--netns', netns, '--json'], {cwd: work, timeoutMs: 300_000})).stdout) as HooksReport
      const host = JSON.parse(cli(['hooks', '--netns', netns, '--json']).stdout) as HooksReport
      expect(inside.tcxVisibility).toMatchObject({helper: 'ok', kernelHasTcx: true})
      expect(inside.warnings).toEqual([])
      const strip = (r: HooksReport) => ({...r, node: {...r.node, hostname: undefined, takenAt: undefined}})
      expect(strip(inside)).toEqual(strip(host))
    }
  })

  it('trace from the container: the same path as from the host', async () => {
    const args = ['trace', '10.42.1.80', '10.42.0.51:80', '--sport', '42001', '--netns', `${prefix}-node1`, '--netns', `${prefix}-node2`]
    const inside = await must('podman', [...runArgs(), 'nodeinspect', ...args], {cwd: work, timeoutMs: 300_000})
    const host = cli(args)
    expect(host.status).toBe(0)
    console.log(inside.stdout.split('\n').slice(0, 6).join('\n'))
    // The first line names the machine (the container's hostname is the host's under --net=host) and the time.
    const body = (t: string) => t.split('\n').filter((l) => !/\b\d{4}-\d\d-\d\dT/.test(l))
    expect(body(inside.stdout)).toEqual(body(host.stdout))
  })
})
