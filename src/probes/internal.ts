import type {InternalProbes} from '../source/types.js'

/**
 * The probes nodeinspect answers in-process (`nodeinspect-internal NAME …`), one line each: the kernel's binary
 * answers turned into text a snapshot records. Loaded on first use, so a command that needs none pays nothing.
 */
export const INTERNAL_PROBES: InternalProbes = {
  'sk-buff-layout': async () => (await import('./sk-buff-layout.js')).runSkBuffLayout(),
  'netns-check': async (args) => (await import('./netns-check.js')).runNetnsCheck(args),
  'route-get': async (args) => (await import('./netlink-route.js')).runRtnetlinkRouteGet(args),
}
