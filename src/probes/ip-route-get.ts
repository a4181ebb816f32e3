import type {RouteAnswer, RouteQuery} from '../model/routing.js'
import {INTERNAL} from '../source/types.js'
import {parseToolJson} from './tool-json.js'

/**
 * `ip -j route get …` answers, e.g. `[{"dst":"10.42.0.51","gateway":"10.42.0.247","dev":"cilium_vxlan","prefsrc":"10.42.1.247","flags":["onlink"],"table":"main","mark":…}]`,
 * or `{"type":"local","dst":"10.42.0.51","dev":"lo","table":"local",…}`.
 */
export function parseRouteGet(stdout: string): Omit<RouteAnswer, 'evidence' | 'detail'> | undefined {
  try {
    const v = parseToolJson(stdout) as Array<Record<string, unknown>>
    const e = v[0]
    if (!e) return undefined
    const a: Omit<RouteAnswer, 'evidence' | 'detail'> = {type: typeof e.type === 'string' ? e.type : 'unicast'}
    if (typeof e.dev === 'string') a.dev = e.dev
    if (typeof e.gateway === 'string') a.gateway = e.gateway
    if (typeof e.prefsrc === 'string') a.prefsrc = e.prefsrc
    if (typeof e.table === 'string') a.table = e.table
    return a
  } catch {
    return undefined
  }
}

/** `ip -j route get` as asked in a named netns (or a pod's, with `-n`): the kernel's own answer, recorded in snapshots. */
export function routeGetArgv(q: RouteQuery, podNetns?: string): string[] {
  const argv = ['ip']
  if (podNetns) argv.push('-n', podNetns)
  argv.push('-j', q.family === 'ipv6' ? '-6' : '-4', 'route', 'get', q.dst)
  if (q.src) argv.push('from', q.src)
  if (q.iif) argv.push('iif', q.iif)
  if (q.oif) argv.push('oif', q.oif)
  if (q.mark) argv.push('mark', `0x${q.mark.toString(16)}`)
  return argv
}

/**
 * The same question asked in-process over rtnetlink (probes/netlink-route.ts), for the host's own netns where no
 * process need be spawned: the same words as `ip route get`, and an answer in `ip -j route get`'s shape, so a
 * snapshot records and replays it like any tool's output.
 */
export function rtnetlinkRouteGetArgv(q: RouteQuery): string[] {
  const ip = routeGetArgv(q)
  return [INTERNAL, 'route-get', ip[2]!, ...ip.slice(5)]
}
