/**
 * What netfilter does to ONE packet at ONE hook: every table registered there (iptables legacy and nft backends,
 * native nft base chains), in the order the kernel runs them, with the rules that matched, the marks and NAT they
 * applied, the statistic/numgen alternatives, and everything that had to be assumed. Pure: no I/O.
 *
 * Kernel behaviour modelled (net/netfilter/core.c nf_hook_slow, nf_nat_core.c nf_nat_inet_fn):
 *  - hooks run in priority order; DROP/REJECT/QUEUE in any of them ends the hook, ACCEPT only ends that base chain;
 *  - nat-type chains (iptables nat, nft `type nat`) are not hooks of their own: the nat core runs them at -100
 *    (prerouting, output) or 100 (postrouting, input), ordered by their own priority, only for a connection's
 *    first packet and only until one of them binds a NAT;
 *  - conntrack sees the packet as NEW (the first of its connection), unless a NOTRACK made it untracked.
 */
import type {Hook, NftTable, XtChain, XtRuleset, XtTable} from '../model/netfilter.js'
import {runNftChain, nftTableLabel} from './netfilter-eval/nft-walk.js'
import {natKindOfHook, Walk, type ChainOutcome} from './netfilter-eval/state.js'
import type {Engine, EvalContext, HookResult, PacketState, RuleHit, TableResult} from './netfilter-eval/types.js'
import {runXtChain, xtEngine} from './netfilter-eval/xt-walk.js'

export type {EvalContext, HookResult, PacketState} from './netfilter-eval/types.js'

/** The rules of one node: iptables-save dumps (each family and backend) and the native nft tables. */
export interface NetfilterRules {
  xt: readonly XtRuleset[]
  /** Native nft tables (model/netfilter.ts nftTablesToEvaluate); iptables-nft tables are read through `xt`. */
  nft: readonly NftTable[]
  /** Every nft table (`ip nat`…) in the order it was made, iptables-nft's included; absent: not known. */
  tableOrder?: readonly string[]
}

interface BaseChainRun {
  engine: Engine
  backend?: 'nft' | 'legacy'
  table: string
  chain: string
  priority: number
  /** Where the kernel actually runs it (nat chains: inside the nat core). */
  effective: number
  nat: boolean
  /** Changing the mark or destination here makes the kernel route the packet again (output hook only). */
  reroutes: boolean
  /** Which rule set it came from, for ties: registration order is not in any dump. */
  source: string
  order: number
  /** Its nft table's place in creation order (nft listing order), and its chain handle there; absent: legacy, or not known. */
  created?: {table: number; chain?: number}
  run(w: Walk): ChainOutcome
}

export function evaluateHook(rules: NetfilterRules, ctx: EvalContext, pkt: PacketState): HookResult {
  const w = new Walk(ctx, pkt)
  w.note(
    w.untracked
      ? 'conntrack: the packet is untracked (NOTRACK at an earlier hook): ctstate UNTRACKED, nat chains do not see it'
      : w.pkt.ct?.established
        ? 'conntrack: a reply of a connection conntrack holds (ctstate ESTABLISHED, direction REPLY): ESTABLISHED/RELATED rules match, NEW ones do not; nat chains do not run, the bound NAT is undone by the nat core (kn-20)'
        : 'conntrack: assumed the first packet of a new connection (ctstate NEW; ESTABLISHED/RELATED rules do not match; nat chains run) and conntrack active, as on any Kubernetes node',
  )
  const runs = baseChains(rules, ctx.hook, w)
  orderNotes(runs, ctx.hook, w)

  const tables: TableResult[] = []
  // nf_nat_inet_fn runs nat chains only while !nf_nat_initialized(ct, maniptype): once per connection and manip
  // type (a looped-back packet meets PREROUTING and INPUT after OUTPUT and POSTROUTING set both up).
  const manip = natKindOfHook(ctx.hook)
  const natSetUpEarlier = manip !== undefined && w.pkt.ct?.natSetUp?.[manip] === true
  let natRan = false
  let final: ChainOutcome | undefined
  let lastAccept: RuleHit | undefined
  for (const b of runs) {
    const row: TableResult = {engine: b.engine, table: b.table, chain: b.chain, priority: b.priority, verdict: ''}
    if (b.backend) row.backend = b.backend
    if (final) {
      row.verdict = `not reached: ${final.verdict} earlier`
    } else if (b.nat && w.untracked) {
      row.verdict = 'skipped: untracked packet (NOTRACK): the nat core only sees tracked connections'
    } else if (b.nat && w.pkt.ct?.established) {
      row.verdict = 'skipped: established connection: nf_nat_inet_fn runs nat chains only for a new one (kn-20)'
    } else if (b.nat && natSetUpEarlier) {
      row.verdict = `skipped: this connection's ${manip === 'dst' ? 'destination' : 'source'} NAT was set up at an earlier hook (nf_nat_initialized): nat chains run once per connection`
    } else if (b.nat && w.natBoundBy) {
      const by = w.natBoundBy
      row.verdict = `skipped: NAT already bound by ${by.engine === 'nft' ? 'nft ' : ''}${by.table}/${by.chain} #${by.position} (${by.action})`
    } else {
      const before = {mark: w.pkt.mark, dst: w.pkt.dst}
      if (b.nat) natRan = true
      const out = b.run(w)
      row.verdict = out.text
      const changed = [w.pkt.mark !== before.mark ? 'mark' : '', w.pkt.dst !== before.dst ? 'destination' : ''].filter((x) => x !== '')
      if (b.reroutes && out.verdict === 'accept' && changed.length > 0)
        w.note(`${label(b)} changed the ${changed.join(' and ')} at output: the kernel routes the packet again (ip_route_me_harder), so the output device may change`)
      if (out.by) row.decidedBy = out.by
      if (out.verdict === 'accept') lastAccept = out.by ?? lastAccept
      else final = out
    }
    tables.push(row)
  }
  if (runs.length === 0) w.note(`no table has a base chain at ${ctx.hook}: the packet passes unchanged`)
  // Whatever the chains did, the nat core has now set up this manip type (a null binding when no rule matched).
  if (natRan && manip && !w.untracked && !w.pkt.ct?.established) w.pkt.ct = {...(w.pkt.ct ?? {}), natSetUp: {...(w.pkt.ct?.natSetUp ?? {}), [manip]: true}}

  const result: HookResult = {
    verdict: final?.verdict ?? 'accept',
    packet: w.pkt,
    trail: w.trail,
    tables,
    branches: w.branches,
    unknowns: w.unknowns,
    notes: w.notes,
    rulesVisited: w.rulesVisited,
  }
  const by = final ? final.by : lastAccept
  if (by) result.decidedBy = by
  if (w.nat) result.nat = w.nat
  return result
}

const NFT_FAMILY_OF: Readonly<Record<string, 'ipv4' | 'ipv6' | 'both'>> = {ip: 'ipv4', ip6: 'ipv6', inet: 'both'}

const builtins = new WeakMap<XtTable, XtChain[]>()

/** A table's built-in chains, found once per table (kube-proxy's nat table has 40k chains, 4 of them built in). */
function builtinChains(table: XtTable): XtChain[] {
  let b = builtins.get(table)
  if (!b) builtins.set(table, (b = table.chains.filter((c) => c.builtin)))
  return b
}

function baseChains(rules: NetfilterRules, hook: Hook, w: Walk): BaseChainRun[] {
  const family = w.pkt.family
  const out: BaseChainRun[] = []
  const natEffective = natKindOfHook(hook) === 'dst' ? -100 : 100
  let order = 0
  const tableRank = new Map((rules.tableOrder ?? []).map((label, i) => [label, i]))
  const createdOf = (label: string, chain?: number) => {
    const table = tableRank.get(label)
    return table === undefined ? {} : {created: chain === undefined ? {table} : {table, chain}}
  }
  // iptables-nft tables iptables-save shows: the same rules must not run again from nft JSON.
  const shownByXt = new Set<string>()
  for (const rs of rules.xt) {
    if (rs.family !== family) continue // ip6tables rules never see IPv4 packets, and the other way round
    const source = `${xtEngine(rs)}-${rs.backend}`
    if (rs.legacyTablesPresent && !rules.xt.some((o) => o.backend === 'legacy' && o.family === rs.family))
      w.unknown(`${xtEngine(rs)}-nft warns that iptables-legacy tables exist, and no ${xtEngine(rs)}-legacy-save dump was given: their rules are not evaluated`)
    for (const name of rs.incompatibleTables) w.unknown(`${xtEngine(rs)}-${rs.backend}: table ${name} is incompatible with iptables (holds native nft expressions): evaluate it from nft JSON`)
    for (const table of rs.tables) {
      if (rs.backend === 'nft') shownByXt.add(`${family === 'ipv4' ? 'ip' : 'ip6'} ${table.name}`)
      for (const chain of builtinChains(table)) {
        if (chain.hook !== hook) continue
        if (chain.priority === undefined) {
          w.unknown(`${xtEngine(rs)} table ${table.name}: not a table the kernel has at a known priority: ${chain.name} not evaluated`)
          continue
        }
        if (!table.committed) w.unknown(`${xtEngine(rs)} table ${table.name}: no COMMIT (truncated dump): evaluated as far as it goes`)
        const nat = table.name === 'nat'
        // iptable_mangle's ipt_mangle_out and the nat core re-route locally generated packets whose mark or address changed.
        const reroutes = hook === 'output' && (table.name === 'mangle' || nat)
        const created = rs.backend === 'nft' ? createdOf(`${family === 'ipv4' ? 'ip' : 'ip6'} ${table.name}`) : {}
        out.push({engine: xtEngine(rs), backend: rs.backend, table: table.name, chain: chain.name, priority: chain.priority, effective: nat ? natEffective : chain.priority, nat, reroutes, source, order: order++, ...created, run: (wk) => runXtChain(wk, {rs, table, chain})})
      }
    }
  }
  for (const t of rules.nft) {
    const fam = NFT_FAMILY_OF[t.family]
    if (!fam) {
      if (t.family === 'netdev' && hook === 'prerouting' && t.chains.some((c) => c.base?.hook === 'ingress'))
        w.unknown(`nft ${nftTableLabel(t)}: netdev ingress chains run before prerouting and are not evaluated here`)
      continue
    }
    if (fam !== 'both' && fam !== family) continue
    if (t.owner === 'iptables-nft' && shownByXt.has(nftTableLabel(t))) {
      w.note(`nft ${nftTableLabel(t)} is iptables-nft's and was read through iptables-save: not evaluated twice`)
      continue
    }
    for (const chain of t.chains) {
      if (!chain.base || chain.base.hook !== hook) continue
      const nat = chain.base.type === 'nat'
      const prio = chain.base.prio
      // nft `type route` chains (and nat chains) at output re-route when the mark or addresses change (nf_route_table).
      const reroutes = hook === 'output' && (chain.base.type === 'route' || nat)
      out.push({engine: 'nft', table: nftTableLabel(t), chain: chain.name, priority: prio, effective: nat ? natEffective : prio, nat, reroutes, source: `nft ${nftTableLabel(t)}`, order: order++, ...createdOf(`${t.family} ${t.name}`, chain.handle), run: (wk) => runNftChain(wk, {table: t, chain})})
    }
  }
  // Priority order; nat chains by their own priority inside the nat core; ties as registered (laterFirst), else
  // the dumps' order.
  out.sort((a, b) => a.effective - b.effective || (a.nat === b.nat ? 0 : a.nat ? -1 : 1) || (a.nat && b.nat ? a.priority - b.priority : 0) || laterFirst(a, b) || a.order - b.order)
  return out
}

/**
 * Two base chains of equal priority run in the reverse order of their registration: nf_hook_entries_grow
 * (net/netfilter/core.c) puts a new hook before the existing ones of the same priority, and the nat core's own
 * list of nat chains is grown the same way (nf_nat_register_fn -> nf_hook_entries_insert_raw). A base chain is
 * registered when it is made (nf_tables_addchain), so the later table, or within a table the later chain handle,
 * runs first. Assumes each table's base chains were made with the table, as iptables-nft and kube-proxy do (kn-27).
 */
function laterFirst(a: BaseChainRun, b: BaseChainRun): number {
  if (!a.created || !b.created) return 0
  if (a.created.table !== b.created.table) return b.created.table - a.created.table
  if (a.created.chain !== undefined && b.created.chain !== undefined) return b.created.chain - a.created.chain
  return 0
}

function orderNotes(runs: BaseChainRun[], hook: Hook, w: Walk): void {
  const nats = runs.filter((r) => r.nat)
  if (nats.some((r) => r.priority !== r.effective) || nats.length > 1)
    w.note(`nat chains at ${hook} run inside the nat core at priority ${nats[0]?.effective}, ordered by their own priority (${nats.map((r) => `${r.table}/${r.chain} ${r.priority}`).join(', ')}); the first to bind a NAT ends the others`)
  for (let i = 1; i < runs.length; i++) {
    const a = runs[i - 1]!
    const b = runs[i]!
    const tie = a.effective === b.effective && a.nat === b.nat && (!a.nat || a.priority === b.priority)
    if (!tie || a.source === b.source) continue
    if (laterFirst(a, b) !== 0)
      w.note(`${label(a)} and ${label(b)} share priority ${a.nat ? a.priority : a.effective}: the kernel runs the one registered last first (nf_hook_entries_grow); ${label(a)}'s table was made later (nft lists tables in the order they were made), assuming each table's base chains were made with it`)
    else w.note(`${label(a)} and ${label(b)} share priority ${a.nat ? a.priority : a.effective}: the kernel runs the one registered last first (nf_hook_entries_grow), which the dumps do not show; evaluated in the order given`)
  }
}

function label(r: BaseChainRun): string {
  return `${r.engine}${r.backend ? `-${r.backend}` : ''} ${r.table}/${r.chain}`
}

