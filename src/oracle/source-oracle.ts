import type {NodeState} from '../model/node-state.js'
import type {KernelOracle} from '../model/oracle.js'
import type {RouteAnswer, RouteQuery} from '../model/routing.js'
import {parseRouteGet, routeGetArgv, rtnetlinkRouteGetArgv} from '../probes/ip-route-get.js'
import type {RawOutput, Source} from '../source/types.js'
import {resolveRoute} from './fib.js'

/**
 * The kernel oracle for a set of nodes, each asked through its own Source: live, the node's kernel answers (and a
 * RecordingSource keeps the answers, so the snapshot replays them); from a snapshot, the recorded answer where the
 * same question was asked when it was taken, else the lookup recomputed from its recorded rules and tables.
 */
export class SourceKernelOracle implements KernelOracle {
  constructor(private readonly sources: ReadonlyMap<NodeState, Source>) {}

  async route(node: NodeState, q: RouteQuery): Promise<RouteAnswer> {
    const src = this.sourceOf(node)
    // The host's own netns is asked in-process over rtnetlink; a named netns with `ip route get` inside it.
    const overRtnetlink = node.meta.netns === undefined
    const argv = overRtnetlink ? rtnetlinkRouteGetArgv(q) : routeGetArgv(q)
    const out = await src.run({argv})
    if (out.failure === 'not-recorded') return resolveRoute(node.ipRules, node.hooks.routes, q)
    const asked = overRtnetlink ? `rtnetlink route get ${argv.slice(3).join(' ')}` : `ip route get ${argv.slice(5).join(' ')}`
    if (out.failure) {
      const words = refusal(out)
      return {type: /network is unreachable|no route|ENETUNREACH|EHOSTUNREACH/i.test(words) ? 'unreachable' : 'error', evidence: 'kernel', detail: `the kernel answered ${asked}: ${words}`, error: words}
    }
    const a = parseRouteGet(out.stdout)
    if (!a) return {type: 'error', evidence: 'kernel', detail: `${asked}: unreadable answer`, error: 'unreadable answer'}
    const said = [a.type !== 'unicast' ? a.type : '', a.gateway ? `via ${a.gateway}` : '', a.dev ? `dev ${a.dev}` : '', a.table ? `table ${a.table}` : '', a.prefsrc ? `src ${a.prefsrc}` : ''].filter(Boolean).join(' ')
    return {...a, evidence: 'kernel', detail: overRtnetlink ? `asked the kernel over rtnetlink: ${asked.slice('rtnetlink '.length)} → ${said}` : `asked the kernel: ${asked} → ${said}`}
  }

  async podRoute(node: NodeState, podNetns: string, dst: string): Promise<RouteAnswer | undefined> {
    // Kept to this exact form (no `from`): a snapshot can record it for the pods it knows.
    const argv = ['ip', '-n', podNetns, '-j', 'route', 'get', dst]
    const out = await this.sourceOf(node).run({argv})
    if (out.failure === 'not-recorded') {
      const routes = node.netnsRoutes.get(podNetns)
      if (!routes?.length) return undefined
      const main = routes.filter((r) => r.table === 'main' || r.table === 'local')
      return resolveRoute([{family: 'ipv4', priority: 0, not: false, action: {kind: 'table', table: 'local'}}, {family: 'ipv4', priority: 32766, not: false, action: {kind: 'table', table: 'main'}}], main, {family: 'ipv4', dst, mark: 0})
    }
    if (out.failure) return {type: 'error', evidence: 'kernel', detail: `the kernel answered ${argv.join(' ')}: ${out.message}`, error: (out.stderr.trim().split('\n')[0] ?? '').replace(/^RTNETLINK answers: /, '') || 'failed'}
    const a = parseRouteGet(out.stdout)
    if (!a) return undefined
    return {...a, evidence: 'kernel', detail: `asked the kernel in the pod's netns: ip -n ${podNetns} route get ${dst}`}
  }

  private sourceOf(node: NodeState): Source {
    const src = this.sources.get(node)
    if (!src) throw new Error(`kernel oracle: node ${node.label} was not read through this oracle`)
    return src
  }
}

/** The kernel's refusal, one line without iproute2's prefix. */
function refusal(out: RawOutput): string {
  return (out.stderr.split('\n').find((l) => l.trim()) ?? out.message ?? 'failed').replace(/^RTNETLINK answers: /, '')
}
