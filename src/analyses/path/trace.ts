import type {NodeState} from '../../model/node-state.js'
import type {KernelOracle} from '../../model/oracle.js'
import type {FlowSpec, PathStep, TraceOutcome} from '../../model/path.js'
import type {Warning} from '../../model/warning.js'
import {compact} from '../../util/compact.js'
import {netfilterDeps} from './netfilter-deps.js'
import {RouteLog, replyOutcomeText, walkReply} from './reply.js'
import {PathWalker} from './walk.js'

const TRACE_SCHEMA = 'nodeinspect.trace/v1'

/** `nodeinspect trace --json`: see docs/json-trace.md. */
export interface TraceReport {
  schema: typeof TRACE_SCHEMA
  flow: FlowSpec
  nodes: Array<{label: string; hostname?: string; netns?: string; kernel?: string; source: 'live' | 'snapshot'; snapshotFile?: string; note?: string}>
  steps: PathStep[]
  outcome: TraceOutcome
  /** `--reply`: the answer's walk from DST back to SRC (conntrack ESTABLISHED, the forward NAT undone). */
  reply?: {flow?: FlowSpec; steps: PathStep[]; outcome: TraceOutcome}
  /** `--snapshot DIR`: the folders given, every snapshot read from them or beside them, and whether the path crossed its node. */
  snapshots?: {directories: string[]; read: Array<{file: string; node: string; crossed: boolean}>}
  /** What nodeinspect could not see on this path: never skipped silently. */
  unseen: string[]
  warnings: Warning[]
}

/**
 * The path of a flow through these nodes: pure but for what only a kernel can answer (route lookups), which the
 * oracle gives, live or recorded.
 */
export async function traceFlow(nodes: NodeState[], flow: FlowSpec, oracle: KernelOracle, opts: {reply?: boolean} = {}): Promise<TraceReport> {
  const deps = {route: oracle.route.bind(oracle), podRoute: oracle.podRoute.bind(oracle), ...netfilterDeps}
  const forwardRoutes = new RouteLog()
  const r = await new PathWalker(nodes, flow, forwardRoutes.wrap(deps)).walk()
  const back = opts.reply ? await walkReply(nodes, flow, r, forwardRoutes, deps) : undefined
  const unseen = [...r.unseen, ...(back?.unseen ?? [])]
  for (const n of nodes) {
    if (!n.xt.some((x) => x.tables.length) && !n.nft?.length && n.warnings.some((w) => w.probe.startsWith('iptables-save') && w.kind === 'not-recorded')) unseen.push(`${n.label}: netfilter rules were not recorded: no netfilter step could be evaluated`)
  }
  return {
    schema: TRACE_SCHEMA,
    flow,
    nodes: nodes.map((n) => compact({label: n.label, hostname: n.meta.hostname, netns: n.meta.netns, kernel: n.meta.kernel, source: n.meta.kind, snapshotFile: n.meta.snapshotFile, note: n.meta.note})),
    steps: r.steps,
    outcome: r.outcome,
    ...(back ? {reply: compact({flow: back.flow, steps: back.steps, outcome: {...back.outcome, text: replyOutcomeText(back.outcome, flow, back.flow)}})} : {}),
    unseen: [...new Set(unseen)],
    warnings: [...nodes.flatMap((n) => n.warnings.filter((w) => w.kind !== 'not-recorded').map((w) => ({...w, message: `${n.label}: ${w.message}`}))), ...r.warnings, ...(back?.warnings ?? [])],
  }
}
