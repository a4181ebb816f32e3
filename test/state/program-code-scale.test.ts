// `marks` on a node with many distinct tc programs of one name (Cilium's cil_from_container on every endpoint):
// the processes it spawns do not grow with the programs, because the helper reads all their code in one process
// (issue 10). In a throwaway netns `ni-t<pid>-scale` with N veth pairs, each host side with its own program (the
// same object with one constant patched, so every tag differs: bench/scale-node.mjs, which the benchmark suite
// shares). N is 50 here; NODEINSPECT_SCALE=1 makes it 500.
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {addEndpoints, compileProgram, endpointMark, straceExecs} from '../../bench/scale-node.mjs'
import {bpfHelperPath} from '../../src/source/helper-path.js'
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

describe.skipIf(SKIP !== '')(`marks with ${N} distinct tc programs of one name (${SKIP || 'root'})`, () => {
  const ns = `ni-t${process.pid}-scale`
  const base = `/run/nodeinspect-test-${process.pid}-scale`
  const bpffs = `${base}/bpffs`
  let work = ''
  let mounted = false
  let nsMade = false
  let obj: Buffer = Buffer.alloc(0)

  const run = async (argv: string[], opts: {input?: string; timeoutMs?: number} = {}) => {
    const out = await runCommand({file: argv[0]!, args: argv.slice(1), logicalArgv: argv, timeoutMs: opts.timeoutMs ?? 120_000, input: opts.input})
    if (out.failure) throw new Error(`${out.message}\n${out.stderr.slice(0, 2000)}`)
    return out
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
    const execs = straceExecs(dir)
    for (const own of ['env', 'node']) {
      const i = execs.indexOf(own)
      if (i >= 0) execs.splice(i, 1)
    }
    return {report: JSON.parse(out.stdout), execs}
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
    obj = await compileProgram(work)
  }, 120_000)

  afterAll(async () => {
    // Always, also after a failed setup: the netns (and its veths) first, then the pins (which frees the programs).
    if (nsMade) await runCommand({file: 'ip', args: ['netns', 'del', ns], logicalArgv: ['ip', 'netns', 'del', ns]})
    if (mounted) await runCommand({file: 'umount', args: [bpffs], logicalArgv: ['umount', bpffs]})
    rmSync(base, {recursive: true, force: true})
    if (work) rmSync(work, {recursive: true, force: true})
  })

  it(`spawns as many processes for ${N} programs as for ${FIRST}, and reads every program's code`, async () => {
    await addEndpoints({ns, bpffs, work, obj, from: 0, to: FIRST})
    const few = await marksTraced()
    await addEndpoints({ns, bpffs, work, obj, from: FIRST, to: N})
    const many = await marksTraced()
    const count = (xs: string[]) => Object.fromEntries([...new Set(xs)].sort().map((x) => [x, xs.filter((y) => y === x).length]))
    console.log(`[scale] marks --json: ${few.execs.length} execs for ${FIRST} programs ${JSON.stringify(count(few.execs))}; ${many.execs.length} for ${N} ${JSON.stringify(count(many.execs))}`)
    expect(many.execs.length).toBe(few.execs.length)
    expect(many.execs.filter((x) => x === 'bpftool').length).toBe(few.execs.filter((x) => x === 'bpftool').length)
    expect(many.report.warnings ?? []).toEqual([])
    // Every program's mark write was read: mark |= 0x10000+i, one distinct value per program.
    const text = JSON.stringify(many.report)
    for (const i of [0, FIRST, N - 1]) expect(text, `program ${i}`).toContain(`0x${endpointMark(i).toString(16)}`)

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
