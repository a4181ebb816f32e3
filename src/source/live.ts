import {existsSync, readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {fileURLToPath} from 'node:url'
import {runCommand} from './run-command.js'
import type {RawOutput, RunRequest, Source, SourceMeta} from './types.js'
import {UserError} from '../errors.js'

/** The project's own helper (native/nodeinspect-bpf.c): BPF_PROG_QUERY for tcx/netkit, which Debian 12's bpftool cannot see. */
export const BPF_HELPER = 'nodeinspect-bpf'

export function bpfHelperPath(): string {
  return process.env.NODEINSPECT_BPF_HELPER ?? fileURLToPath(new URL('../../native/build/nodeinspect-bpf', import.meta.url))
}

const NETNS_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/

/** `--netns NAME`: a name under /run/netns, as `ip netns` names them. */
export function netnsPath(name: string): string {
  if (!NETNS_NAME_RE.test(name)) throw new UserError(`invalid --netns "${name}": expected a name from 'ip netns list'`)
  const path = `/run/netns/${name}`
  if (!existsSync(path)) throw new UserError(`invalid --netns "${name}": no such network namespace (${path} does not exist)`)
  return path
}

/**
 * Runs tools on this machine, in the host's netns or inside a named one. A netns is entered with
 * `nsenter --net=` rather than `ip netns exec`, which remounts /sys and hides bpffs (DEPS.md 4.9).
 */
export class LiveSource implements Source {
  readonly meta: SourceMeta
  private readonly nsPath?: string

  constructor(opts: {netns?: string; timeoutMs?: number} = {}) {
    if (opts.netns !== undefined) this.nsPath = netnsPath(opts.netns)
    this.timeoutMs = opts.timeoutMs
    this.meta = {kind: 'live', hostname: hostname(), kernel: kernelRelease(), takenAt: new Date().toISOString()}
    if (opts.netns !== undefined) this.meta.netns = opts.netns
  }

  private readonly timeoutMs?: number

  run(req: RunRequest): Promise<RawOutput> {
    const [tool, ...rest] = req.argv
    if (tool === undefined) throw new Error('run: empty argv')
    if (tool === INTERNAL) return runInternal(req)
    const file = tool === BPF_HELPER ? bpfHelperPath() : tool
    const spec = this.nsPath
      ? {file: 'nsenter', args: [`--net=${this.nsPath}`, '--', file, ...rest]}
      : {file, args: rest}
    return runCommand({...spec, logicalArgv: req.argv, input: req.input, timeoutMs: req.timeoutMs ?? this.timeoutMs, okExitCodes: req.okExitCodes}).then((out) => {
      // The spawn itself failing with ENOENT is nsenter missing, not the tool: say which one.
      if (this.nsPath && out.failure === 'missing-binary') {
        return {...out, message: `${req.argv.join(' ')}: nsenter is not installed (it enters --netns ${this.meta.netns ?? ''}; not found in PATH)`}
      }
      // nsenter reports a missing target binary as exit 127 with "No such file or directory".
      if (this.nsPath && out.exitCode === 127 && /No such file or directory/.test(out.stderr)) {
        return {...out, failure: 'missing-binary' as const, message: `${req.argv.join(' ')}: ${tool} is not installed (not found in PATH)`}
      }
      return out
    })
  }
}

/** Probes answered in-process (binary kernel data turned into text), recorded in snapshots like tools' output. */
export const INTERNAL = 'nodeinspect-internal'

async function runInternal(req: RunRequest): Promise<RawOutput> {
  const started = performance.now()
  const base = {argv: [...req.argv], stdout: '', stderr: '', exitCode: 1 as number | null}
  if (req.argv[1] === 'sk-buff-layout') {
    const {runSkBuffLayout} = await import('../probes/sk-buff-layout.js')
    const r = await runSkBuffLayout()
    const out: RawOutput = {...base, ...r, durationMs: Math.round(performance.now() - started)}
    if (r.exitCode !== 0) Object.assign(out, {failure: 'exit' as const, message: `${req.argv.join(' ')}: ${r.stderr.split('\n')[0]}`})
    return out
  }
  return {...base, failure: 'spawn', message: `${req.argv.join(' ')}: unknown internal probe`, durationMs: 0}
}

function kernelRelease(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  } catch {
    return undefined
  }
}
