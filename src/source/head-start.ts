/**
 * The iptables dumps started before the CLI framework loads. `marks` and `trace` wait on iptables-save more than
 * on anything else (~1 s at 110k rules on the nft backend), and oclif with the command's modules takes ~0.15 s
 * to load before a command could start it: bin/run.js starts the dumps first (startHeadStart), and the
 * command's LiveSource takes each over when it asks for the very same command (runCommand → claimHeadStart),
 * with what it printed meanwhile. Only ever the read-only dumps a live marks or trace would run anyway; a run
 * nobody claims (a usage error, --help) is killed when the CLI ends (cancelHeadStart).
 */
import {existsSync} from 'node:fs'
import {IPTABLES_LEGACY_SAVE_ARGV, IPTABLES_SAVE_ARGV} from '../probes/iptables-save-run.js'
import {killGroup, StartedTool, type SpawnSpec} from './run-command.js'
import {NETNS_NAME_RE, netnsPathOf, spawnSpec} from './spawn-spec.js'

const started = new Map<string, StartedTool>()

const keyOf = (spec: Pick<SpawnSpec, 'file' | 'args' | 'input'>): string => [spec.file, ...spec.args, spec.input ?? ''].join('\0')

/** trace reads at most this many nodes at once (commands/trace.ts NODES_AT_ONCE): only theirs start ahead. */
const NODES_AHEAD = 4

/**
 * The runs a live `marks` or `trace` command line will ask for first, as LiveSource spawns them: the four
 * iptables dumps, per `--netns` given (the host's own without one). None for anything else: --snapshot (no live
 * read), --help/--version, another command, a netns name LiveSource would refuse. @internal tested directly (a test seam)
 */
export function headStartPlan(argv: readonly string[]): Array<{file: string; args: string[]}> {
  const [command, ...rest] = argv
  if (command !== 'marks' && command !== 'trace') return []
  const netns: string[] = []
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!
    if (a === '--') break
    if (a === '--help' || a === '-h' || a === '--version' || a === '--snapshot' || a.startsWith('--snapshot=')) return []
    if (a === '--netns') netns.push(rest[++i] ?? '')
    else if (a.startsWith('--netns=')) netns.push(a.slice('--netns='.length))
  }
  if (command === 'marks' && netns.length > 1) return []
  const paths: Array<string | undefined> = []
  for (const n of netns.slice(0, NODES_AHEAD)) {
    if (!NETNS_NAME_RE.test(n) || !existsSync(netnsPathOf(n))) return []
    paths.push(netnsPathOf(n))
  }
  if (paths.length === 0) paths.push(undefined)
  const dumps = [IPTABLES_SAVE_ARGV.ipv4, IPTABLES_SAVE_ARGV.ipv6, IPTABLES_LEGACY_SAVE_ARGV.ipv4, IPTABLES_LEGACY_SAVE_ARGV.ipv6]
  return paths.flatMap((p) => dumps.map(([file, ...args]) => spawnSpec(p, file!, args)))
}

/** Start what headStartPlan says for this command line; returns how many runs started. */
export function startHeadStart(argv: readonly string[]): number {
  const plan = headStartPlan(argv)
  for (const spec of plan) started.set(keyOf(spec), new StartedTool(spec))
  return plan.length
}

/** The run started ahead for exactly this command, taken (once); undefined when there is none. */
export function claimHeadStart(spec: Pick<SpawnSpec, 'file' | 'args' | 'input'>): StartedTool | undefined {
  if (started.size === 0) return undefined
  const key = keyOf(spec)
  const t = started.get(key)
  if (t) started.delete(key)
  return t
}

/** Kill the runs nobody claimed, so the CLI exits now rather than when they end. */
export function cancelHeadStart(): void {
  for (const t of started.values()) {
    if (t.sub.pid !== undefined && !t.closed) killGroup(t.sub.pid, 'SIGKILL')
    t.sub.stdout?.destroy()
    t.sub.stderr?.destroy()
  }
  started.clear()
}
