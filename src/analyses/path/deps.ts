import type {NodeFacts} from '../../collect/trace-inputs.js'
import type {WalkDeps} from './walk.js'
import {parseRouteGet, resolveRoute, routeGetArgv} from './route-resolve.js'
import type {RouteAnswer, RouteQuery} from '../../model/routing.js'

/**
 * Route lookups for the walk: asked of the kernel (`ip -j route get … iif … mark …`, run in the node's netns)
 * where the node is live; re-done on the recorded rules and tables where it is a snapshot.
 */
export const routeDeps: Pick<WalkDeps, 'route' | 'podRoute'> = {
  async route(node: NodeFacts, q: RouteQuery): Promise<RouteAnswer> {
    // The host's own netns: straight to the kernel over rtnetlink. A named netns: `ip route get` inside it.
    if (node.meta.kind === 'live' && node.meta.netns === undefined) {
      const {netlinkRouteGet} = await import('../../probes/netlink-route.js')
      return netlinkRouteGet(q, node.hooks.devices)
    }
    const argv = routeGetArgv(q)
    const out = await node.src.run({argv})
    if (out.failure === 'not-recorded') return resolveRoute(node.ipRules, node.hooks.routes, q)
    const asked = argv.slice(5).join(' ')
    if (out.failure) {
      const words = (out.stderr.split('\n').find((l) => l.trim()) ?? out.message ?? 'failed').replace(/^RTNETLINK answers: /, '')
      return {type: /network is unreachable|no route/i.test(words) ? 'unreachable' : 'error', evidence: 'kernel', detail: `the kernel answered ip route get ${asked}: ${words}`, error: words}
    }
    const a = parseRouteGet(out.stdout)
    if (!a) return {type: 'error', evidence: 'kernel', detail: `ip route get ${asked}: unreadable answer`, error: 'unreadable answer'}
    return {...a, evidence: 'kernel', detail: `asked the kernel: ip route get ${asked} → ${[a.type !== 'unicast' ? a.type : '', a.gateway ? `via ${a.gateway}` : '', a.dev ? `dev ${a.dev}` : '', a.table ? `table ${a.table}` : '', a.prefsrc ? `src ${a.prefsrc}` : ''].filter(Boolean).join(' ')}`}
  },
  async podRoute(node: NodeFacts, podNetns: string, dst: string): Promise<RouteAnswer | undefined> {
    // Kept to this exact form (no `from`): a snapshot can record it for the pods it knows.
    const argv = ['ip', '-n', podNetns, '-j', 'route', 'get', dst]
    const out = await node.src.run({argv})
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
  },
}
