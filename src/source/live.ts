import {existsSync, readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {DEFAULT_TIMEOUT_MS, runCommand} from './run-command.js'
import {bpfHelperPath, presentBpfHelper} from './helper-path.js'
import {NETNS_NAME_RE, netnsPathOf, spawnSpec} from './spawn-spec.js'
import {commandLine, INTERNAL, type InternalProbes, type RawOutput, type RunRequest, type Source, type StdoutSink} from './types.js'
import type {SourceMeta} from '../model/node-meta.js'
import type {RunFailure} from '../model/warning.js'
import {UserError} from '../errors.js'

/** The project's own helper (native/nodeinspect-bpf.c): BPF_PROG_QUERY for tcx/netkit, which Debian 12's bpftool cannot see. */
export const BPF_HELPER = 'nodeinspect-bpf'

/** `--netns NAME`: a name under /run/netns, as `ip netns` names them. */
function netnsPath(name: string): string {
  if (!NETNS_NAME_RE.test(name)) throw new UserError(`invalid --netns "${name}": expected a name from 'ip netns list'`)
  const path = netnsPathOf(name)
  if (!existsSync(path)) throw new UserError(`invalid --netns "${name}": no such network namespace (${path} does not exist)`)
  return path
}

/**
 * Runs tools on this machine, in the host's netns or inside a named one. A netns is entered with
 * `nsenter --net=` rather than `ip netns exec`, which remounts /sys and hides bpffs (docs/kernel-notes.md#kn-1-nsenter-not-ip-netns-exec).
 *
 * A tool that timed out without printing anything is taken for hung and not waited for again in the same
 * source: its later runs (a second collection phase, trace's route lookups) fail at once, so one hung tool
 * costs one timeout, not one per phase. One that printed was slow, not hung (a `bpftool prog dump xlated
 * name X` over hundreds of programs): its other, smaller runs still run.
 */
export class LiveSource implements Source {
  readonly meta: SourceMeta
  private readonly nsPath?: string
  /** The user's --timeout: every run gets it, even one whose probe asks for longer. */
  private readonly timeoutMs?: number
  /** Without --timeout: for probes that ask for no timeout of their own. */
  private readonly defaultTimeoutMs: number
  /** Tools (logical argv[0]) that timed out in this source printing nothing, with the timeout they had. */
  private readonly timedOut = new Map<string, number>()
  /** Set once `nsenter` itself was not found: then no tool can run in the netns. */
  private nsenterMissing = false
  /** In-process probes (src/probes/internal.ts): they run in this process's netns, so only for the host's own. */
  private readonly internal: InternalProbes
  /** Set once the helper turned out to have no `exec` (an older one, by NODEINSPECT_BPF_HELPER): dumps then run plain. */
  private helperWithoutExec = false

  constructor(opts: {netns?: string; timeoutMs?: number; defaultTimeoutMs?: number; internal?: InternalProbes} = {}) {
    this.internal = opts.internal ?? {}
    if (opts.netns !== undefined) this.nsPath = netnsPath(opts.netns)
    this.timeoutMs = opts.timeoutMs
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS
    this.meta = {kind: 'live', hostname: hostname(), kernel: kernelRelease(), takenAt: new Date().toISOString()}
    if (opts.netns !== undefined) this.meta.netns = opts.netns
  }

  run(req: RunRequest): Promise<RawOutput> {
    return this.exec(req)
  }

  /** As the tool prints: what runCommand reads from the pipe goes to `onChunk` at once. */
  async stream(req: RunRequest, onChunk: StdoutSink): Promise<RawOutput> {
    const out = await this.exec(req, onChunk)
    // An in-process probe's answer never came through a pipe: handed over whole (one that failed fast printed nothing).
    if (req.argv[0] === INTERNAL && out.stdout !== '') onChunk(out.stdout)
    return out
  }

  private async exec(req: RunRequest, onChunk?: StdoutSink): Promise<RawOutput> {
    const [tool, ...rest] = req.argv
    if (tool === undefined) throw new Error('run: empty argv')
    if (tool === INTERNAL) return runInternal(req, this.internal)
    const cmd = commandLine(req.argv)
    if (this.nsenterMissing) return failFast(req, 'spawn', `${cmd}: ${this.nsenterMissingCause()}`)
    const earlier = this.timedOut.get(tool)
    if (earlier !== undefined) return failFast(req, 'timeout', `${cmd}: skipped: ${tool} timed out earlier in this run (after ${earlier} milliseconds, printing nothing)`)
    const file = tool === BPF_HELPER ? bpfHelperPath() : tool
    const helper = req.deepOutput && !this.helperWithoutExec ? presentBpfHelper() : undefined
    const timeoutMs = this.timeoutMs ?? req.timeoutMs ?? this.defaultTimeoutMs
    const run = (via: string | undefined) => runCommand({...spawnSpec(this.nsPath, file, rest, via), logicalArgv: req.argv, input: req.input, timeoutMs, okExitCodes: req.okExitCodes}, onChunk)
    let out = await run(helper)
    if (helper !== undefined && out.exitCode === 2 && out.stdout === '' && /unknown subcommand 'exec'/.test(out.stderr)) {
      this.helperWithoutExec = true
      out = await run(undefined)
    }
    if (out.failure === 'timeout' && out.stdout === '' && out.stderr === '') this.timedOut.set(tool, timeoutMs)
    if (this.nsPath && out.failure === 'missing-binary') {
      // The spawn of nsenter itself failed (ENOENT): the tool was never looked for, so do not call it missing.
      this.nsenterMissing = true
      return {...out, failure: 'spawn', message: `${cmd}: ${this.nsenterMissingCause()}`}
    }
    // nsenter and the helper's exec report a missing target binary as exit 127 with "No such file or directory".
    if ((this.nsPath || helper !== undefined) && out.exitCode === 127 && /No such file or directory/.test(out.stderr)) {
      return {...out, failure: 'missing-binary', message: `${cmd}: ${tool} is not installed (not found in PATH)`}
    }
    return out
  }

  private nsenterMissingCause(): string {
    return `cannot enter netns ${this.meta.netns}: nsenter is not installed (util-linux)`
  }
}

function failFast(req: RunRequest, failure: RunFailure, message: string): RawOutput {
  const out: RawOutput = {argv: [...req.argv], stdout: '', stderr: '', exitCode: null, failure, message, durationMs: 0}
  if (req.input !== undefined) out.input = req.input
  return out
}

async function runInternal(req: RunRequest, probes: InternalProbes): Promise<RawOutput> {
  const started = performance.now()
  const base = {argv: [...req.argv], stdout: '', stderr: '', exitCode: 1 as number | null}
  const run = probes[req.argv[1] ?? '']
  if (!run) return {...base, failure: 'spawn', message: `${req.argv.join(' ')}: unknown internal probe`, durationMs: 0}
  const r = await run(req.argv.slice(2))
  const out: RawOutput = {...base, ...r, durationMs: Math.round(performance.now() - started)}
  if (r.exitCode !== 0) Object.assign(out, {failure: 'exit' as const, message: `${req.argv.join(' ')}: ${r.stderr.split('\n')[0]}`})
  return out
}

function kernelRelease(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  } catch {
    return undefined
  }
}
