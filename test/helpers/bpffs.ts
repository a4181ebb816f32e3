/**
 * A private bpffs for tests that load programs (test support): `/run/nodeinspect-test-<pid><suffix>/bpffs`,
 * mounted fresh after sweeping the leftovers of crashed earlier runs of the same kind (a pid that no longer
 * exists: unmounted and removed). Unmounting it unpins, and so frees, every program pinned there.
 */
import {existsSync, mkdirSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {runCommand} from '../../src/source/run-command.js'
import type {RawOutput} from '../../src/source/types.js'

/** A command that must succeed: its output, or an Error with the tool's own words. */
export async function mustRun(argv: string[]): Promise<RawOutput> {
  const out = await runCommand({file: argv[0]!, args: argv.slice(1), logicalArgv: argv, timeoutMs: 60_000})
  if (out.failure) throw new Error(`${out.message}\n${out.stderr.slice(0, 2000)}`)
  return out
}

export interface TestBpffs {
  path: string
  unmount(): Promise<void>
}

/** Sweep `/run/nodeinspect-test-<dead pid><suffix>`, then mount this process's bpffs. */
export async function mountTestBpffs(suffix = ''): Promise<TestBpffs> {
  const shape = new RegExp(`^nodeinspect-test-(\\d+)${suffix.replace(/[^\w-]/g, '')}$`)
  for (const d of readdirSync('/run')) {
    const pid = Number(shape.exec(d)?.[1])
    if (!pid || pid === process.pid || existsSync(`/proc/${pid}`)) continue
    await runCommand({file: 'umount', args: [`/run/${d}/bpffs`], logicalArgv: ['umount', `/run/${d}/bpffs`]})
    rmSync(`/run/${d}`, {recursive: true, force: true})
  }
  const base = `/run/nodeinspect-test-${process.pid}${suffix}`
  const path = `${base}/bpffs`
  mkdirSync(path, {recursive: true})
  await mustRun(['mount', '-t', 'bpf', 'bpf', path])
  return {
    path,
    unmount: async () => {
      await runCommand({file: 'umount', args: [path], logicalArgv: ['umount', path]})
      rmSync(base, {recursive: true, force: true})
    },
  }
}

/** Why programs cannot be compiled and loaded here ('' when they can): root, clang, bpftool, libbpf headers, BTF. */
export function bpfLoadSkipReason(): string {
  if (process.env.NI_SKIP_KERNEL === '1') return 'NI_SKIP_KERNEL=1'
  if (process.getuid?.() !== 0) return 'not root'
  const inPath = (tool: string): boolean => (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, tool)))
  for (const tool of ['clang', 'bpftool', 'mount', 'umount']) if (!inPath(tool)) return `${tool} not installed`
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf-dev not installed (no bpf/bpf_helpers.h)'
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no /sys/kernel/btf/vmlinux'
  return ''
}
