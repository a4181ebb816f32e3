// `marks` on a node with many distinct tc programs of one name (Cilium's cil_from_container on every endpoint):
// the processes it spawns do not grow with the programs, because the helper reads all their code in one process
// (issue 10). In a throwaway netns `ni-t<pid>-scale` with N veth pairs, each host side with its own program (the
// same object with one constant patched, so every tag differs). N is 50 here; NODEINSPECT_SCALE=1 makes it 500.
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bpfHelperPath} from '../../src/source/live.js'
import {runCommand} from '../../src/source/run-command.js'
import {ROOT} from '../helpers/fixtures.js'

const N = process.env.NODEINSPECT_SCALE === '1' ? 500 : 50
/** NODEINSPECT_SCALE_COMPARE=1: also time the bpftool path (the helper made to answer as one built before prog-dump). */
const COMPARE = process.env.NODEINSPECT_SCALE_COMPARE === '1'
/** The first run sees this many programs, the second all N: the process counts must be equal. */
const FIRST = 10

function skipReason(): string {
  if (process.env.NI_SKIP_KERNEL === '1') return 'NI_SKIP_KERNEL=1'
  if (process.getuid?.() !== 0) return 'not root'
  const inPath = (tool: string): boolean => (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, tool)))
  for (const tool of ['clang', 'bpftool', 'ip', 'tc', 'nsenter', 'strace', 'mount', 'umount']) if (!inPath(tool)) return `${tool} not installed`
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf-dev not installed (no bpf/bpf_helpers.h)'
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no /sys/kernel/btf/vmlinux'
  if (!existsSync(bpfHelperPath())) return `no helper binary at ${bpfHelperPath()} (run: make -C native)`
  if (!existsSync(join(ROOT, 'dist/commands/marks.js'))) return 'dist/ not built (npx tsc -p tsconfig.build.json)'
  return ''
}
const SKIP = skipReason()
if (SKIP) console.log(`program code scale test skipped: ${SKIP}`)

/** The constant patched per program: `skb->mark |= MARKER` compiles to one ALU instruction whose imm holds it. */
const MARKER = 0x5eed0001
const PROG_C = `#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int cil_from_container(struct __sk_buff *skb) { skb->mark |= ${MARKER}; return TC_ACT_OK; }
char _license[] SEC("license") = "GPL";
`

/** The object with the marker's 4 bytes (little-endian, found exactly once) replaced by `value`. */
function patched(obj: Buffer, value: number): Buffer {
  const needle = Buffer.alloc(4)
  needle.writeUInt32LE(MARKER)
  const at = obj.indexOf(needle)
  if (at < 0 || obj.indexOf(needle, at + 1) >= 0) throw new Error(`marker 0x${MARKER.toString(16)} not found exactly once in the object`)
  const out = Buffer.from(obj)
  out.writeUInt32LE(value >>> 0, at)
  return out
}

describe.skipIf(SKIP !== '')(`marks with ${N} distinct tc programs of one name (${SKIP || 'root'})`, () => {
  const ns = `ni-t${process.pid}-scale`
  const base = `/run/nodeinspect-test-${process.pid}-scale`
  const bpffs = `${base}/bpffs`
  let work = ''
  let mounted = false
  let nsMade = false

  const run = async (argv: string[], opts: {input?: string; timeoutMs?: number} = {}) => {
    const out = await runCommand({file: argv[0]!, args: argv.slice(1), logicalArgv: argv, timeoutMs: opts.timeoutMs ?? 120_000, input: opts.input})
    if (out.failure) throw new Error(`${out.message}\n${out.stderr.slice(0, 2000)}`)
    return out
  }

  /** Load programs [from, to) and attach each to its own veth's ingress in the test netns (two processes per batch). */
  const attach = async (obj: Buffer, from: number, to: number): Promise<void> => {
    const idx = Array.from({length: to - from}, (_, k) => from + k)
    const queue = [...idx]
    const load = async (): Promise<void> => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const file = join(work, `p${i}.o`)
        writeFileSync(file, patched(obj, 0x10000 + i))
        await run(['bpftool', 'prog', 'load', file, `${bpffs}/p${i}`, 'type', 'classifier'])
        rmSync(file)
      }
    }
    await Promise.all([load(), load()])
    await run(['ip', '-n', ns, '-batch', '-'], {input: idx.map((i) => `link add ni${i} type veth peer name nip${i}\nlink set ni${i} up\nlink set nip${i} up\n`).join('')})
    await run(['tc', '-n', ns, '-batch', '-'], {input: idx.map((i) => `qdisc add dev ni${i} clsact\nfilter add dev ni${i} ingress bpf da pinned ${bpffs}/p${i}\n`).join('')})
  }

  /**
   * `marks --json --netns` under strace: its answer and the programs it executed (argv[0] of each successful execve
   * but its own). `-ff` gives each process its own file: with one file, concurrent calls split into
   * `<unfinished …>` / `<… execve resumed>` lines.
   */
  let traces = 0
  const marksTraced = async (env: Record<string, string> = {}): Promise<{report: {warnings?: Array<{message: string}>}; execs: string[]}> => {
    const dir = join(work, `strace-${++traces}`)
    mkdirSync(dir)
    const out = await runCommand({
      file: 'strace',
      args: ['-ff', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', join(dir, 't'), 'env', ...envArgs(env), process.execPath, join(ROOT, 'bin/run.js'), 'marks', '--json', '--netns', ns],
      logicalArgv: ['strace', 'marks'],
      timeoutMs: 300_000,
    })
    if (out.failure) throw new Error(`${out.message}\n${out.stderr.slice(0, 2000)}`)
    const execs: string[] = []
    for (const f of readdirSync(dir)) {
      for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
        const m = /^execve\("([^"]+)".* = 0$/.exec(l)
        if (m) execs.push(m[1]!.split('/').pop()!)
      }
    }
    for (const own of ['env', 'node']) {
      const i = execs.indexOf(own)
      if (i >= 0) execs.splice(i, 1)
    }
    return {report: JSON.parse(out.stdout), execs: execs.sort()}
  }

  const envArgs = (env: Record<string, string>): string[] => Object.entries(env).map(([k, v]) => `${k}=${v}`)

  const marksTimed = async (env: Record<string, string> = {}): Promise<number> => {
    const t = performance.now()
    const out = await runCommand({file: 'env', args: [...envArgs(env), process.execPath, join(ROOT, 'bin/run.js'), 'marks', '--json', '--netns', ns], logicalArgv: ['marks'], timeoutMs: 300_000})
    if (out.failure) throw new Error(`${out.message}\n${out.stderr.slice(0, 2000)}`)
    return Math.round(performance.now() - t)
  }

  beforeAll(async () => {
    // Leftovers of crashed earlier runs (their pid is gone): their netns and bpffs.
    for (const d of readdirSync('/run/netns', {withFileTypes: true}).map((e) => e.name)) {
      const m = /^ni-t(\d+)-scale$/.exec(d)
      if (m && !existsSync(`/proc/${m[1]}`)) await runCommand({file: 'ip', args: ['netns', 'del', d], logicalArgv: ['ip', 'netns', 'del', d]})
    }
    for (const d of readdirSync('/run')) {
      const m = /^nodeinspect-test-(\d+)-scale$/.exec(d)
      if (!m || existsSync(`/proc/${m[1]}`)) continue
      await runCommand({file: 'umount', args: [`/run/${d}/bpffs`], logicalArgv: ['umount']})
      rmSync(`/run/${d}`, {recursive: true, force: true})
    }
    work = mkdtempSync(join(tmpdir(), 'nodeinspect-scale-'))
    mkdirSync(bpffs, {recursive: true})
    await run(['mount', '-t', 'bpf', 'bpf', bpffs])
    mounted = true
    await run(['ip', 'netns', 'add', ns])
    nsMade = true
    writeFileSync(join(work, 'prog.c'), PROG_C)
    await run(['clang', '-O2', '-g', '-Wall', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(work, 'prog.c'), '-o', join(work, 'prog.o')])
  }, 120_000)

  afterAll(async () => {
    // Always, also after a failed setup: the netns (and its veths) first, then the pins (which frees the programs).
    if (nsMade) await runCommand({file: 'ip', args: ['netns', 'del', ns], logicalArgv: ['ip', 'netns', 'del', ns]})
    if (mounted) await runCommand({file: 'umount', args: [bpffs], logicalArgv: ['umount', bpffs]})
    rmSync(base, {recursive: true, force: true})
    if (work) rmSync(work, {recursive: true, force: true})
  })

  it(`spawns as many processes for ${N} programs as for ${FIRST}, and reads every program's code`, async () => {
    const obj = readFileSync(join(work, 'prog.o'))
    await attach(obj, 0, FIRST)
    const few = await marksTraced()
    await attach(obj, FIRST, N)
    const many = await marksTraced()
    const count = (xs: string[]) => Object.fromEntries([...new Set(xs)].sort().map((x) => [x, xs.filter((y) => y === x).length]))
    console.log(`[scale] marks --json: ${few.execs.length} execs for ${FIRST} programs ${JSON.stringify(count(few.execs))}; ${many.execs.length} for ${N} ${JSON.stringify(count(many.execs))}`)
    expect(many.execs.length).toBe(few.execs.length)
    expect(many.execs.filter((x) => x === 'bpftool').length).toBe(few.execs.filter((x) => x === 'bpftool').length)
    expect(many.report.warnings ?? []).toEqual([])
    // Every program's mark write was read: mark |= 0x10000+i, one distinct value per program.
    const text = JSON.stringify(many.report)
    for (const i of [0, FIRST, N - 1]) expect(text, `program ${i}`).toContain(`0x${(0x10000 + i).toString(16)}`)

    const ms = [await marksTimed(), await marksTimed(), await marksTimed()].sort((a, b) => a - b)
    console.log(`[scale] marks --json --netns with ${N} programs: ${ms.join(', ')} ms (median ${ms[1]})`)
    if (!COMPARE) return
    // A helper without prog-dump: every other subcommand goes to the real one.
    const old = join(work, 'old-helper.sh')
    writeFileSync(old, `#!/bin/sh\nif [ "$1" = prog-dump ]; then echo '{"error":"unknown subcommand prog-dump"}'; exit 2; fi\nexec ${bpfHelperPath()} "$@"\n`, {mode: 0o755})
    const env = {NODEINSPECT_BPF_HELPER: old}
    const slow = [await marksTimed(env), await marksTimed(env), await marksTimed(env)].sort((a, b) => a - b)
    const traced = await marksTraced(env)
    expect(traced.report.warnings?.map((w) => w.message)).toContainEqual(expect.stringMatching(/program code: the nodeinspect-bpf helper is not built with prog-dump/))
    console.log(`[scale] the same through bpftool (helper without prog-dump): ${slow.join(', ')} ms (median ${slow[1]}); ${traced.execs.length} execs ${JSON.stringify(count(traced.execs))}`)
  }, 900_000)
})
