/**
 * A prediction (`nodeinspect trace --json`) against the kernel's own trace of the real packet (kernel-path.ts), at
 * full depth, per node (test support, pure): for the inner packet and for a tunnel's outer packet, every
 * decision (a rule that accepted, dropped, translated, marked or untracked, or a base chain's policy) in order,
 * and at every hook the mark, the conntrack state and the devices. Each disagreement is one line naming the node,
 * the packet and the field.
 */
import type {PathStep} from '../../src/model/path.js'
import type {Decision, Hook, HookView, ObservedPacket} from './kernel-path.js'

/** How a predicted rule action reads as a decision (pure). `undefined`: a jump, a return, a log… */
export function actionDecision(action: string): Decision['what'] | undefined {
  if (/^(DNAT|SNAT|MASQUERADE|REDIRECT)\b|^(dnat|snat|masquerade|redirect)\b|^un-?(DNAT|SNAT)/.test(action)) return 'nat'
  if (/^NOTRACK\b|^CT --notrack|^notrack\b/.test(action)) return 'notrack'
  if (/^(MARK|CONNMARK)\b|mark set\b/.test(action)) return 'mark'
  if (/^(ACCEPT|accept)\b/.test(action)) return 'accept'
  if (/^(DROP|REJECT|drop|reject)\b/.test(action)) return 'drop'
  return undefined
}

/** nodeinspect labels a native table with its family (`ip kube-proxy`); the trace prints the family apart. */
const traceTable = (label: string) => label.replace(/^(ip|ip6|inet) /, '')

const hookOf = (s: PathStep): Hook | undefined => /^netfilter (\w+)$/.exec(s.where.hook ?? '')?.[1] as Hook | undefined

/** What the prediction says the kernel's trace will show for one packet on one node (pure). */
export interface PredictedPacket {
  decisions: Decision[]
  hooks: HookView[]
}

/**
 * The prediction for `node`'s inner packet (outer false) or outer packet (outer true): every netfilter step's
 * tables that ran, with the rules that decided something in them, then its policy when no rule ended the chain.
 */
export function predictedPacket(steps: readonly PathStep[], node: string, outer: boolean): PredictedPacket {
  const decisions: Decision[] = []
  const hooks: HookView[] = []
  for (const s of steps) {
    if (s.node !== node || s.kind !== 'netfilter' || !!s.outer !== outer) continue
    const hook = hookOf(s)
    if (!hook) continue
    for (const t of s.tables ?? []) {
      if (/^(skipped|not reached)/.test(t.verdict)) continue
      for (const r of s.rules ?? []) {
        if (r.table !== t.table) continue
        const what = actionDecision(r.action)
        if (what) decisions.push({table: traceTable(r.table), chain: r.chain, what})
      }
      const policy = /^(ACCEPT|DROP) \(policy\)$/.exec(t.verdict)?.[1]
      if (policy) decisions.push({table: traceTable(t.table), chain: t.chain, what: policy === 'ACCEPT' ? 'policy accept' : 'policy drop'})
    }
    // The observer runs after every table: a packet a table dropped never reaches it.
    if (s.verdictKind === 'drop' || s.verdictKind === 'reject') continue
    const v: HookView = {hook, mark: s.mark}
    if (s.ct) v.ct = s.ct.state
    if (s.where.device !== undefined) {
      if (hook === 'prerouting' || hook === 'input') v.iif = s.where.device
      else if (hook === 'output' || hook === 'postrouting') v.oif = s.where.device
    }
    hooks.push(v)
  }
  return {decisions, hooks}
}

const fmtDecision = (d: Decision) => `${d.table}/${d.chain} ${d.what}`
const fmtHook = (h: HookView) => `${h.hook} mark 0x${h.mark.toString(16)} ct ${h.ct ?? '-'}${h.iif ? ` iif ${h.iif}` : ''}${h.oif ? ` oif ${h.oif}` : ''}`

/** What agreed and what did not, for one packet on one node. */
export interface PacketAgreement {
  where: string
  decisions: number
  hooks: number
  mismatches: string[]
}

/**
 * Compare one packet (pure). The kernel's hook views carry both devices; the prediction names the input device at
 * prerouting/input and the output device at output/postrouting, so only those are compared.
 */
export function comparePacket(where: string, predicted: PredictedPacket, observed: ObservedPacket | undefined): PacketAgreement {
  const mismatches: string[] = []
  const od = observed?.decisions ?? []
  // A node with no table at all has no netfilter step in the prediction, and no conntrack in the kernel
  // (nf_ct_netns_get registers conntrack's hooks only for a ruleset that needs them) but for the observer's own
  // `ct state` rules, which turn it on: only its decisions (none) are compared there.
  const bare = predicted.hooks.length === 0 && predicted.decisions.length === 0 && od.length === 0
  const oh = bare ? [] : (observed?.hooks ?? [])
  const pd = predicted.decisions.map(fmtDecision)
  const kd = od.map(fmtDecision)
  if (pd.join('\n') !== kd.join('\n')) mismatches.push(`${where}: decisions differ\n  predicted: ${pd.join(' → ') || '(none)'}\n  kernel:    ${kd.join(' → ') || '(none)'}`)
  const ph = predicted.hooks.map(fmtHook)
  const kh = oh.map((h, i) => {
    const p = predicted.hooks[i]
    const view: HookView = {hook: h.hook, mark: h.mark}
    if (h.ct !== undefined) view.ct = h.ct
    if (p?.iif !== undefined && h.iif !== undefined) view.iif = h.iif
    if (p?.oif !== undefined && h.oif !== undefined) view.oif = h.oif
    return fmtHook(view)
  })
  if (ph.join('\n') !== kh.join('\n')) mismatches.push(`${where}: hooks differ\n  predicted: ${ph.join(' → ') || '(none)'}\n  kernel:    ${kh.join(' → ') || '(none)'}`)
  return {where, decisions: od.length, hooks: oh.length, mismatches}
}

/** The first observed packet matching `pick`, after `after` (pure). */
export function firstPacket(packets: readonly ObservedPacket[], pick: (p: ObservedPacket) => boolean, after?: ObservedPacket): ObservedPacket | undefined {
  const start = after ? packets.indexOf(after) + 1 : 0
  return packets.slice(start).find(pick)
}
