/**
 * What the kernel did with one packet in one node's netns, from its own `nft monitor trace` (test support): a
 * throwaway table whose raw-priority chains set nftrace on every TCP and UDP packet (the lab is quiet: the probe's
 * connection is all that flows), and whose last-priority chains at each of the five hooks observe the packet after
 * every table ran there: its conntrack state (one `ct state X` rule per state; only a matching rule is traced), its
 * mark (the policy line carries it) and its devices (the packet line). The parsers are pure.
 *
 * A tunnel's outer packet is the same skb as the inner one; skb_scrub_packet clears nf_trace at encapsulation and
 * decapsulation (net/core/skbuff.c), and the set chains mark it again. The trace id hashes the skb's address with
 * its skb_iif (nft_trace_init), so it may or may not change on the way: packets are told apart by header (a UDP
 * packet to an overlay port is an outer one; the IP id, length and TCP flags name a packet).
 */
import {type TraceEvent, type TracePacket, withNftTraceTable} from './nft-trace.js'

export const HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting'] as const
export type Hook = (typeof HOOKS)[number]

/** After every table of the lab: iptables' last is security (50) and snat (100); nothing here registers later. */
const OBSERVER_PRIORITY = 1000
const CT_STATES = ['new', 'established', 'related', 'untracked', 'invalid'] as const

/** The throwaway table (pure): set nftrace on TCP and UDP in prerouting and output, observe at every hook. */
export function kernelPathRuleset(table: string): string {
  const lines = [`table ip ${table} {`]
  for (const [chain, hook] of [['set_pre', 'prerouting'], ['set_out', 'output']] as const) {
    lines.push(`\tchain ${chain} { type filter hook ${hook} priority -350; policy accept; meta l4proto { tcp, udp } meta nftrace set 1; }`)
  }
  for (const hook of HOOKS) lines.push(`\tchain obs_${hook} { type filter hook ${hook} priority ${OBSERVER_PRIORITY}; policy accept; ${CT_STATES.map((s) => `ct state ${s}`).join('; ')}; }`)
  lines.push('}', '')
  return lines.join('\n')
}

/** A decision the kernel's trace shows: a rule that accepted, dropped, translated, marked or untracked, or a policy. */
export interface Decision {
  table: string
  chain: string
  what: 'accept' | 'drop' | 'nat' | 'mark' | 'notrack' | 'policy accept' | 'policy drop'
}

/** The packet as the observer chain at one hook saw it, after every table there. */
export interface HookView {
  hook: Hook
  mark: number
  /** NEW, ESTABLISHED, RELATED, UNTRACKED, INVALID; absent when no conntrack entry is attached. */
  ct?: string
  iif?: string
  oif?: string
}

export interface ObservedPacket {
  id: string
  outer: boolean
  /** The first packet line (headers as the first base chain saw them). */
  first: TracePacket
  events: TraceEvent[]
  decisions: Decision[]
  hooks: HookView[]
}

/** How a rule line reads (pure): the kernel's trace text of an iptables-nft or native rule. */
export function ruleDecision(rule: string, verdict: string | undefined): Decision['what'] | undefined {
  // Statements are whole words between blanks: `jump mark-for-masquerade` names a chain, it does not masquerade.
  const words = ` ${rule} `
  if (/ (dnat|snat) (ip )?to | masquerade | redirect |xt target "(DNAT|SNAT|MASQUERADE|REDIRECT)"/.test(words)) return 'nat'
  if (/ notrack |xt target "(NOTRACK|CT)"/.test(words)) return 'notrack'
  if (/ meta mark set |xt target "(MARK|CONNMARK)"/.test(words)) return 'mark'
  if (verdict === 'accept') return 'accept'
  if (verdict === 'drop') return 'drop'
  return undefined
}

/**
 * The packets one node's trace shows, in order of first appearance (pure). Events of one id follow the packet line
 * of their base chain; a packet line for a base chain its packet already passed starts a new packet (the kernel
 * derives the id from the skb's address, so a later packet can reuse it).
 */
export function observedPackets(events: readonly TraceEvent[], ownTable: string, overlayPorts: ReadonlySet<number>): ObservedPacket[] {
  const out: Array<ObservedPacket & {seen: Set<string>}> = []
  const currentOfId = new Map<string, ObservedPacket & {seen: Set<string>}>()
  const open = new Map<string, ObservedPacket & {seen: Set<string>}>()
  for (const e of events) {
    let p: (ObservedPacket & {seen: Set<string>}) | undefined
    if (e.kind === 'packet') {
      const outer = e.packet?.proto === 'udp' && e.packet.dport !== undefined && overlayPorts.has(e.packet.dport)
      // Not the trace id: it hashes skb_iif too (nft_trace_init), which changes when a bridge passes a frame up
      // after br_netfilter ran PREROUTING for it. The IP id and length survive routing and NAT in one netns.
      const key = `${outer ? 'o' : 'i'} ${e.packet?.ipId} ${e.packet?.length} ${e.packet?.tcpFlags ?? ''}`
      p = open.get(key)
      const base = `${e.table} ${e.chain}`
      if (!p || p.seen.has(base)) {
        p = {id: e.id, outer, first: e.packet ?? {}, events: [], decisions: [], hooks: [], seen: new Set()}
        out.push(p)
        open.set(key, p)
      }
      p.seen.add(base)
      currentOfId.set(e.id, p)
    } else p = currentOfId.get(e.id)
    if (!p) continue
    p.events.push(e)
  }
  for (const p of out) {
    let view: HookView | undefined
    for (const e of p.events) {
      if (e.table === ownTable) {
        const hook = /^obs_(\w+)$/.exec(e.chain)?.[1] as Hook | undefined
        if (!hook) continue
        if (e.kind === 'packet') {
          view = {hook, mark: 0}
          if (e.packet?.iif !== undefined) view.iif = e.packet.iif
          if (e.packet?.oif !== undefined) view.oif = e.packet.oif
          p.hooks.push(view)
        } else if (e.kind === 'rule' && view) {
          const s = /^ct state (\w+)$/.exec(e.rule ?? '')?.[1]
          if (s) view.ct = s.toUpperCase()
        } else if (e.kind === 'policy' && view) view.mark = e.mark ?? 0
        continue
      }
      if (e.kind === 'rule') {
        const what = ruleDecision(e.rule ?? '', e.verdict)
        if (what) p.decisions.push({table: e.table, chain: e.chain, what})
      } else if (e.kind === 'verdict' && (e.verdict === 'accept' || e.verdict === 'drop')) {
        p.decisions.push({table: e.table, chain: e.chain, what: e.verdict})
      } else if (e.kind === 'policy' && (e.policy === 'accept' || e.policy === 'drop')) {
        p.decisions.push({table: e.table, chain: e.chain, what: `policy ${e.policy}`})
      }
    }
  }
  return out.map(({seen: _seen, ...p}) => p)
}

/** Trace every TCP and UDP packet in these netns at once while fn runs; the events per netns. */
export async function withKernelPath(netnsList: readonly string[], fn: () => Promise<unknown>, onRaw?: (netns: string, text: string) => void): Promise<Map<string, {events: TraceEvent[]; ownTable: string}>> {
  const result = new Map<string, {events: TraceEvent[]; ownTable: string}>()
  const run = async (i: number): Promise<void> => {
    if (i === netnsList.length) {
      await fn()
      return
    }
    const netns = netnsList[i]!
    let own = ''
    const events = await withNftTraceTable(
      netns,
      (table) => {
        own = table
        return kernelPathRuleset(table)
      },
      () => run(i + 1),
      {keepOwnTable: true, settleMs: 250, ...(onRaw ? {onRaw: (text: string) => onRaw(netns, text)} : {})},
    )
    result.set(netns, {events, ownTable: own})
  }
  await run(0)
  return result
}
