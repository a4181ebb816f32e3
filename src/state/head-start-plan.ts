import {existsSync} from 'node:fs'
import {iptablesSaveRequest} from '../probes/iptables-save-run.js'
import {presentBpfHelper} from '../source/helper-path.js'
import {NETNS_NAME_RE, netnsPathOf, spawnSpec} from '../source/spawn-spec.js'

/** trace reads at most this many live nodes at once (commands/trace.ts): only theirs start ahead. */
export const LIVE_NODES_AT_ONCE = 4

/**
 * The runs a live `marks` or `trace` command line will ask for first, as LiveSource spawns them (spawnSpec): the
 * four iptables dumps readXtDumps reads, per `--netns` given (the host's own without one). None for anything
 * else: --snapshot (no live read), --help/--version, another command, a netns name LiveSource would refuse.
 * Read-only tools the command runs anyway (source/head-start.ts starts them before oclif loads).
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
  for (const n of netns.slice(0, LIVE_NODES_AT_ONCE)) {
    if (!NETNS_NAME_RE.test(n) || !existsSync(netnsPathOf(n))) return []
    paths.push(netnsPathOf(n))
  }
  if (paths.length === 0) paths.push(undefined)
  // IPv4 first, both backends: where a node's rules are (kube-proxy's 110k), while IPv6 dumps are mostly near empty;
  // each start holds this thread ~2.5 ms (node's spawn waits for the child's exec), so order is when each begins.
  const dumps = [iptablesSaveRequest('ipv4', 'nft'), iptablesSaveRequest('ipv4', 'legacy'), iptablesSaveRequest('ipv6', 'nft'), iptablesSaveRequest('ipv6', 'legacy')]
  // As LiveSource runs each request: through the helper's exec where it asks for a deep output buffer.
  return paths.flatMap((p) => dumps.map(({argv: [file, ...args], deepOutput}) => spawnSpec(p, file!, args, deepOutput ? presentBpfHelper() : undefined)))
}
