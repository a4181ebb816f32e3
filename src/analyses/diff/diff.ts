import type {FlowSpec} from '../../model/path.js'
import type {NodeState} from '../../model/node-state.js'
import type {Warning} from '../../model/warning.js'
import {compact} from '../../util/compact.js'
import {analyseHooks, type NodeIdentity} from '../hooks.js'
import {markUsagesOf} from '../mark-uses.js'
import {analyseMarks} from '../marks.js'
import type {TraceReport} from '../path/trace.js'
import {diffCiliumEntries, type CiliumEntryChange} from './cilium.js'
import {diffHooks, type HookChange} from './hooks.js'
import {diffMarks, type DiffFinding, type DiffMarkUse} from './marks.js'
import {diffPaths, type PathDiff} from './path.js'
import {diffRules, type RuleChange} from './rules.js'
import {diffIpRules, diffRoutes, type IpRuleChange, type RouteChange} from './routing.js'

const DIFF_SCHEMA = 'nodeinspect.diff/v1'

/** One side of the diff: the node as read (a snapshot or live), and the flow's trace on it when a flow was given. */
export interface DiffSide {
  state: NodeState
  trace?: TraceReport
}

/** `nodeinspect diff --json`: see docs/json-diff.md. */
export interface DiffReport {
  schema: typeof DIFF_SCHEMA
  before: NodeIdentity & {label: string}
  after: NodeIdentity & {label: string}
  flow?: FlowSpec
  summary: {
    changes: number
    hooks: number
    markUses: number
    findings: number
    rules: number
    routes: number
    ipRules: number
    cilium: number
    /** Whether the flow's path differs (absent without --flow). */
    pathDiffers?: boolean
  }
  hooks: HookChange[]
  markUses: {added: DiffMarkUse[]; removed: DiffMarkUse[]}
  findings: {appeared: DiffFinding[]; resolved: DiffFinding[]}
  rules: RuleChange[]
  routes: RouteChange[]
  ipRules: IpRuleChange[]
  /** Only with a flow: Cilium's entries for the addresses it involves. */
  cilium?: CiliumEntryChange[]
  path?: PathDiff
  /** What one side could read and the other could not: a change there may be a probe's, not the node's. */
  unreadOnOneSide: string[]
  warnings: Warning[]
}

function identityOf(s: NodeState): NodeIdentity & {label: string} {
  const m = s.meta
  return compact({label: s.label, hostname: m.hostname, kernel: m.kernel, netns: m.netns, source: m.kind, snapshotFile: m.snapshotFile, takenAt: m.takenAt, note: m.note})
}

/** Every address the flow's packet carries on either walk (its NAT included): the Cilium entries that matter. */
function flowAddresses(flow: FlowSpec, sides: readonly DiffSide[]): string[] {
  const out = new Set([flow.src, flow.dst])
  for (const s of sides) for (const st of s.trace?.steps ?? []) for (const a of [st.tuple.src, st.tuple.dst]) out.add(a)
  return [...out]
}

/** Probes read on one side and not on the other (a tool missing there, an older snapshot). */
function unreadOnOneSide(a: NodeState, b: NodeState): string[] {
  const failed = (s: NodeState) => new Set(s.warnings.map((w) => w.probe))
  const fa = failed(a)
  const fb = failed(b)
  return [...[...fa].filter((p) => !fb.has(p)).map((p) => `${p}: not read before`), ...[...fb].filter((p) => !fa.has(p)).map((p) => `${p}: not read after`)]
}

/**
 * What changed between "worked" (before) and "broken" (after), by meaning: programs on hooks, mark uses and
 * findings, rules, routes, ip rules, and with a flow the Cilium entries for its addresses and where its path
 * differs. Ids, positions, handles, counters and times are never compared. Pure.
 */
export function analyseDiff(before: DiffSide, after: DiffSide, flow?: FlowSpec): DiffReport {
  const a = before.state
  const b = after.state
  const hooks = diffHooks(analyseHooks(a), analyseHooks(b))
  const marks = diffMarks(analyseMarks(identityOf(a), markUsagesOf(a), []), analyseMarks(identityOf(b), markUsagesOf(b), []))
  const rules = diffRules(a, b)
  const routes = diffRoutes(a, b)
  const ipRules = diffIpRules(a, b)
  const cilium = flow ? diffCiliumEntries(a, b, flowAddresses(flow, [before, after])) : undefined
  const path = before.trace && after.trace ? diffPaths(before.trace, after.trace) : undefined
  const summary: DiffReport['summary'] = {
    changes: 0,
    hooks: hooks.length,
    markUses: marks.uses.added.length + marks.uses.removed.length,
    findings: marks.findings.appeared.length + marks.findings.resolved.length,
    rules: rules.length,
    routes: routes.length,
    ipRules: ipRules.length,
    cilium: cilium?.length ?? 0,
  }
  summary.changes = summary.hooks + summary.markUses + summary.findings + summary.rules + summary.routes + summary.ipRules + summary.cilium + (path && !path.same ? 1 : 0)
  if (path) summary.pathDiffers = !path.same
  return compact({
    schema: DIFF_SCHEMA,
    before: identityOf(a),
    after: identityOf(b),
    flow,
    summary,
    hooks,
    markUses: marks.uses,
    findings: marks.findings,
    rules,
    routes,
    ipRules,
    cilium,
    path,
    unreadOnOneSide: unreadOnOneSide(a, b),
    warnings: [...a.warnings.map((w) => ({...w, message: `before: ${w.message}`})), ...b.warnings.map((w) => ({...w, message: `after: ${w.message}`}))],
  })
}
