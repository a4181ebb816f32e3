import type {WalkDeps} from './walk.js'

/**
 * Netfilter for the walk. Filled in by the evaluator (analyses/netfilter-eval); until then every hook is reported
 * as not evaluated in the trace's "not seen" list, never silently passed.
 */
export const netfilterDeps: Pick<WalkDeps, 'netfilter'> = {}
