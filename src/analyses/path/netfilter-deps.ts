import type {NodeState} from '../../model/node-state.js'
import type {Conntrack, HookTable, Proto, StepRule, Tuple} from '../../model/path.js'
import {evaluateHook, type HookResult, type PacketState} from '../netfilter-eval.js'
import type {NetfilterVerdict, WalkDeps} from './walk.js'

function localAddresses(node: NodeState): string[] {
  return node.hooks.devices.flatMap((d) => d.addresses.map((a) => a.local))
}

function ruleOf(h: HookResult['trail'][number]): StepRule {
  return {engine: h.engine, table: h.table, chain: h.chain, position: h.position, raw: h.raw, action: h.action}
}

function tableOf(t: HookResult['tables'][number]): HookTable {
  const out: HookTable = {engine: t.engine, table: t.table, chain: t.chain, priority: t.priority, verdict: t.verdict}
  if (t.backend) out.backend = t.backend
  if (t.decidedBy && t.decidedBy.position > 0) out.decidedBy = `${t.decidedBy.table}/${t.decidedBy.chain} #${t.decidedBy.position}: ${t.decidedBy.action}`
  return out
}

/** The packet's conntrack entry as the evaluator carries it (NAT bound, untracked, zone) and back. */
function evalCt(ct: Conntrack | undefined): PacketState['ct'] | undefined {
  if (!ct) return undefined
  return {...(ct.nat?.dnat ? {dnat: true} : {}), ...(ct.nat?.snat ? {snat: true} : {}), ...(ct.state === 'UNTRACKED' ? {untracked: true} : {}), ...(ct.state === 'ESTABLISHED' ? {established: true} : {}), ...(ct.zone ? {zone: ct.zone} : {}), ...(ct.natSetUp ? {natSetUp: {...ct.natSetUp}} : {})}
}

function conntrackAfter(ct: PacketState['ct'], ctmark: number): Conntrack {
  const nat = {...(ct?.dnat ? {dnat: true} : {}), ...(ct?.snat ? {snat: true} : {})}
  // Tracked: the connection's first packet (NEW), or its reply (ESTABLISHED, `trace --reply`).
  return {state: ct?.untracked ? 'UNTRACKED' : ct?.established ? 'ESTABLISHED' : 'NEW', zone: ct?.zone ?? 0, mark: ct?.untracked ? 0 : ctmark >>> 0, ...(Object.keys(nat).length ? {nat} : {}), ...(ct?.natSetUp ? {natSetUp: {...ct.natSetUp}} : {})}
}

/** Netfilter for the walk: the node's recorded iptables and native nft rules evaluated against the packet. */
export const netfilterDeps: Pick<WalkDeps, 'netfilter'> = {
  netfilter(node, hook, pkt, masqueradeAddress): NetfilterVerdict | undefined {
    const t = pkt.tuple
    const state: PacketState = {family: t.src.includes(':') ? 'ipv6' : 'ipv4', src: t.src, dst: t.dst, proto: t.proto, mark: pkt.mark, ctmark: pkt.ct?.mark ?? 0}
    if (t.sport !== undefined) state.sport = t.sport
    if (t.dport !== undefined) state.dport = t.dport
    if (t.sportRandom) state.sportRandom = true
    if (pkt.iif) state.iif = pkt.iif
    if (pkt.oif) state.oif = pkt.oif
    if (pkt.reversePath) state.reversePath = pkt.reversePath
    const ct = evalCt(pkt.ct)
    if (ct) state.ct = ct
    const r = evaluateHook({xt: node.xt, nft: node.nft ?? [], ...(node.nftTableOrder ? {tableOrder: node.nftTableOrder} : {})}, {hook, localAddresses: localAddresses(node), ...(masqueradeAddress ? {masqueradeAddress} : {}), ...(node.ipsets ? {ipsets: node.ipsets} : {})}, state)
    const tuple: Tuple = {src: r.packet.src, dst: r.packet.dst, proto: r.packet.proto as Proto}
    if (r.packet.sport !== undefined) tuple.sport = r.packet.sport
    if (r.packet.dport !== undefined) tuple.dport = r.packet.dport
    if (r.packet.sportRandom) tuple.sportRandom = true
    const out: NetfilterVerdict = {
      verdict: r.verdict,
      tuple,
      mark: r.packet.mark,
      ct: conntrackAfter(r.packet.ct, r.packet.ctmark),
      rules: r.trail.map(ruleOf),
      tables: r.tables.map(tableOf),
      branches: r.branches.map((b) => `${b.at.table}/${b.at.chain} #${b.at.position}: p=${b.probability.toFixed(3)} → ${b.leadsTo}${b.taken ? ' (taken)' : ''}`),
      unknowns: r.unknowns,
      notes: r.notes,
    }
    if (r.nat) out.nat = `${r.nat.kind.toUpperCase()} ${r.nat.before.addr}${r.nat.before.port ? `:${r.nat.before.port}` : ''} → ${r.nat.after.addr}${r.nat.after.port ? `:${r.nat.after.port}` : ''}`
    return out
  },
}
