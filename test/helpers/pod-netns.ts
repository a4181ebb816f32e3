/**
 * Throwaway namespaces shaped like a node and its pods (test support): each pod a netns whose eth0 is a veth
 * to `lxc<N>` in the node, with a /32 and a default route out of eth0. Only the namespaces named here are touched.
 */
import {spawnSync} from 'node:child_process'

/** `ip ARGS`, or an Error with its own words. */
export function ip(...a: string[]): void {
  const r = spawnSync('ip', a, {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`)
}

/** Create `node` and `pods` (lo up), and pod i behind `lxc<i+1>` with address podIp(i); host routes for `routed` pods. */
export function addNodeWithPods(node: string, pods: readonly string[], podIp: (i: number) => string, routed: (i: number) => boolean = () => true): void {
  for (const n of [node, ...pods]) {
    ip('netns', 'add', n)
    ip('-n', n, 'link', 'set', 'lo', 'up')
  }
  pods.forEach((pod, i) => {
    ip('-n', node, 'link', 'add', `lxc${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod)
    ip('-n', node, 'link', 'set', `lxc${i + 1}`, 'up')
    ip('-n', pod, 'link', 'set', 'eth0', 'up')
    ip('-n', pod, 'addr', 'add', `${podIp(i)}/32`, 'dev', 'eth0')
    ip('-n', pod, 'route', 'add', 'default', 'dev', 'eth0', 'scope', 'link')
    if (routed(i)) ip('-n', node, 'route', 'add', `${podIp(i)}/32`, 'dev', `lxc${i + 1}`)
  })
}
