import {attribute, meaningOf, MARK_OWNERS, ownersByValue, type Attribution, type AttributionSignals} from '../knowledge/mark-owners.js'
import type {TcFilter} from '../model/hooks.js'
import {FULL_MASK, formatMarkOp, hex, type Mark, type MarkOp} from '../model/mark.js'
import {nftChainReachability, xtRuleMarkUses, type ChainReach, type NftTable, type XtRuleset} from '../model/netfilter.js'
import {reachersOf, type JumpGraph, type Reacher} from '../probes/iptables-save-marks.js'
import type {IpRule} from '../model/routing.js'
import type {XfrmPolicy, XfrmState} from '../model/xfrm.js'
import type {SsSocket} from '../model/socket.js'
import type {ProgramSummary} from '../model/program-summary.js'
import {markText, opBits, popcount, type MarkLocation, type MarkSubsystem, type MarkUsage} from './mark-usage.js'

/** Hands out stable ids (`u1`, `u2`, …) in the order usages are found. */
export class UsageIds {
  private n = 0
  next(): string {
    return `u${++this.n}`
  }
}

/** Owner and documented meaning of a use: from the signals first, else only candidates by value (never an owner). */
export function enrich(u: MarkUsage, signals: AttributionSignals): MarkUsage {
  const owner = attribute(signals)
  if (owner) u.owner = owner
  const probe = u.value !== 0 ? u.value : popcount(u.mask) === 1 ? u.mask : 0
  if (owner) {
    const o = MARK_OWNERS.find((x) => x.id === owner.owner)!
    const f = probe !== 0 ? meaningOf(o, probe, u.mask) : undefined
    const g = !f && u.role === 'set' && probe !== 0 ? meaningOf(o, probe, u.mask, true) : undefined
    if (g) {
      u.meaning = `${g.meaning} (if the rest of its field ${hex(g.mask!)} is clear)`
      u.meaningSource = `${g.source.repo} ${g.source.path.split(';')[0]} (${g.version})`
    }
    if (f) {
      u.meaning = f.meaning
      u.meaningSource = `${f.source.repo} ${f.source.path.split(';')[0]} (${f.version})`
    }
  } else if (probe !== 0 && u.mask !== 0) {
    const c = ownersByValue(probe, u.mask === FULL_MASK && u.style === 'whole' ? FULL_MASK : u.mask)
    if (c.length > 0) u.candidates = c.map((x) => `${x.owner.name}: ${x.fact.meaning.split(':')[0]}`)
  }
  return u
}

function writeUsage(id: string, subsystem: MarkSubsystem, op: MarkOp, where: MarkLocation, raw: string | undefined, evidence: MarkUsage['evidence'], operation?: string): MarkUsage {
  const b = opBits(op)
  const role = op.kind === 'save' ? 'save' : op.kind === 'restore' ? 'restore' : 'set'
  const markKind = op.kind === 'save' ? 'conntrack' : op.kind === 'restore' || op.kind === 'from-socket' ? 'packet' : op.target
  const u: MarkUsage = {
    id,
    subsystem,
    markKind,
    role,
    operation: operation ?? formatMarkOp(op),
    value: b.value,
    mask: b.mask,
    setsBits: b.sets,
    clearsBits: b.clears,
    readsBits: op.kind === 'save' ? op.nfmask >>> 0 : op.kind === 'restore' ? op.ctmask >>> 0 : 0,
    style: b.whole ? 'whole' : 'bitwise',
    where,
    evidence,
  }
  if (op.kind === 'save' || op.kind === 'restore') u.copy = {nfmask: op.nfmask >>> 0, ctmask: op.ctmask >>> 0}
  if (raw !== undefined) u.raw = raw
  return u
}

function matchUsage(id: string, subsystem: MarkSubsystem, on: 'packet' | 'conntrack', mark: Mark, negated: boolean, where: MarkLocation, raw: string | undefined, operation: string, role: MarkUsage['role'] = 'match', evidence: MarkUsage['evidence'] = 'rule'): MarkUsage {
  const u: MarkUsage = {
    id,
    subsystem,
    markKind: on,
    role,
    operation,
    value: mark.value >>> 0,
    mask: mark.mask >>> 0,
    setsBits: 0,
    clearsBits: 0,
    readsBits: mark.mask >>> 0,
    style: (mark.mask >>> 0) === FULL_MASK ? 'whole' : 'bitwise',
    where,
    evidence,
  }
  if (negated) u.negated = true
  if (raw !== undefined) u.raw = raw
  return u
}

/** The jump graph of a parsed dump (for callers that parsed every rule). */
export function jumpGraphOf(rs: XtRuleset): JumpGraph {
  const g: JumpGraph = new Map()
  for (const t of rs.tables) {
    const m = new Map<string, Set<string>>()
    for (const c of t.chains) for (const r of c.rules) if (r.target && (r.target.kind === 'jump' || r.target.kind === 'goto')) (m.get(c.name) ?? m.set(c.name, new Set()).get(c.name)!).add(r.target.chain)
    g.set(t.name, m)
  }
  return g
}

/**
 * Every mark match and write of one iptables-save dump, with the built-in hooks that reach it. Linear in rules;
 * `jumps` (from parseIptablesSaveForMarks) lets the dump hold only the mark rules.
 */
export function usagesFromXt(rs: XtRuleset, ids: UsageIds, jumps: JumpGraph = jumpGraphOf(rs)): MarkUsage[] {
  const subsystem: MarkSubsystem = `${rs.family === 'ipv6' ? 'ip6tables' : 'iptables'}${rs.backend === 'legacy' ? '-legacy' : ''}` as MarkSubsystem
  const out: MarkUsage[] = []
  for (const t of rs.tables) {
    const builtins = new Set(t.chains.filter((c) => c.builtin).map((c) => c.name))
    for (const c of t.chains) {
      let reach: Reacher[] | undefined
      for (const r of c.rules) {
        const uses = xtRuleMarkUses(r)
        if (uses.length === 0) continue
        reach ??= c.builtin ? [] : reachersOf(jumps, t.name, c.name, (n) => builtins.has(n))
        const hooks = c.builtin ? [`${t.name}/${c.name}`] : reach.length ? [...new Set(reach.map((x) => x.builtin))] : ['unreachable (no built-in chain jumps here)']
        const where: MarkLocation = {table: t.name, chain: c.name, position: r.position, line: r.line, hooks}
        const signals: AttributionSignals = {chain: c.name, comments: r.comments, reachedFrom: reach.flatMap((x) => x.path.slice(0, -1).reverse())}
        for (const use of uses) {
          let u: MarkUsage
          if (use.role === 'write') u = writeUsage(ids.next(), subsystem, use.op, {...where}, r.raw, 'rule', `${use.via} ${formatMarkOp(use.op)}`)
          else if (use.role === 'match') u = matchUsage(ids.next(), subsystem, use.on, use.mark, use.negated, {...where}, r.raw, `${use.via} ${use.negated ? '! ' : ''}--mark ${markText(use.mark.value, use.mark.mask)}`)
          else u = matchUsage(ids.next(), subsystem, use.on, {value: 0, mask: FULL_MASK}, false, {...where}, r.raw, use.via, 'lookup')
          out.push(enrich(u, signals))
        }
      }
    }
  }
  return out
}

/** Mark matches and writes of native nft tables (iptables-nft tables are read through iptables-save instead). */
export function usagesFromNft(tables: readonly NftTable[], ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  const reachAll = new Map<string, ChainReach>()
  for (const x of nftChainReachability({tables: [...tables]})) reachAll.set(`${x.table}/${x.chain}`, x)
  for (const t of tables) {
    const tname = `${t.family} ${t.name}`
    for (const c of t.chains) {
      for (const r of c.rules) {
        if (r.markMatches.length === 0 && r.markWrites.length === 0) continue
        const rc = reachAll.get(`${tname}/${c.name}`)
        const hooks = c.base ? [`${tname}/${c.name} (${c.base.hook} prio ${c.base.prio})`] : rc && rc.reachedFrom.length ? [...new Set(rc.reachedFrom.map((x) => `${x.table}/${x.builtin}`))] : ['unreachable (no base chain jumps here)']
        const where: MarkLocation = {table: tname, chain: c.name, position: r.position, hooks}
        const raw = r.comment ? `${nftRuleText(r.expr)} comment "${r.comment}"` : nftRuleText(r.expr)
        const signals: AttributionSignals = {chain: c.name, nftTable: t.name, comments: r.comment ? [r.comment] : [], reachedFrom: rc?.reachedFrom.flatMap((x) => x.path.slice(0, -1).reverse()) ?? []}
        for (const m of r.markMatches) {
          const mark = m.mark ?? {value: 0, mask: FULL_MASK}
          const negated = m.op === '!='
          const u = matchUsage(ids.next(), 'nft', m.on, mark, negated, {...where}, raw, `${m.on === 'packet' ? 'meta mark' : 'ct mark'}${mark.mask !== FULL_MASK ? ` & ${hex(mark.mask)}` : ''} ${m.op} ${m.mark ? hex(mark.value) : JSON.stringify(m.right)}`)
          if (!m.mark) u.uncertain = `compared with ${JSON.stringify(m.right)} (a set, range or map: every bit may be compared)`
          out.push(enrich(u, signals))
        }
        for (const w of r.markWrites) {
          if (w.op) out.push(enrich(writeUsage(ids.next(), 'nft', w.op, {...where}, raw, 'rule', `${w.target === 'packet' ? 'meta mark set' : 'ct mark set'} ${formatMarkOp(w.op)}`), signals))
          else {
            const u = writeUsage(ids.next(), 'nft', {kind: 'set', target: w.target, value: 0}, {...where}, raw, 'rule', `${w.target === 'packet' ? 'meta mark set' : 'ct mark set'} ${JSON.stringify(w.value)}`)
            u.uncertain = `value ${JSON.stringify(w.value)} is not a constant: any bit may be written`
            u.setsBits = FULL_MASK
            out.push(enrich(u, signals))
          }
        }
      }
    }
  }
  return out
}

/** A short nft-like rendering of an expression list, for evidence (not a faithful re-printer). */
export function nftRuleText(expr: readonly unknown[]): string {
  return expr
    .map((e) => {
      const o = e as Record<string, unknown>
      const k = Object.keys(o)[0] ?? '?'
      return k === 'counter' ? 'counter' : `${k} ${JSON.stringify(o[k])}`
    })
    .join(' ')
    .slice(0, 300)
}

/**
 * tc filters that match or set marks: the `fw` classifier (its handle is `mark/mask`), u32/flower `mark`
 * keys, and `skbedit mark` actions.
 */
export function usagesFromTc(filters: readonly TcFilter[], ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  for (const f of filters) {
    const where: MarkLocation = {device: f.devname, direction: f.direction, hooks: [`tc ${f.direction} ${f.devname}`], ...(f.pref !== undefined ? {priority: f.pref} : {})}
    const raw = `filter dev ${f.devname} ${f.direction} pref ${f.pref ?? '?'} ${f.kind} ${JSON.stringify(f.options)}`
    if (f.kind === 'fw' && f.handle) {
      const m = /^(0x[0-9a-f]+|\d+)(?:\/(0x[0-9a-f]+|\d+))?$/i.exec(f.handle)
      if (m) out.push(enrich(matchUsage(ids.next(), 'tc', 'packet', {value: Number(m[1]) >>> 0, mask: m[2] ? Number(m[2]) >>> 0 : FULL_MASK}, false, where, raw, `fw handle ${f.handle}`), {}))
    }
    const mark = (f.options as {mark?: unknown}).mark ?? (f.options as {keys?: {mark?: unknown}}).keys?.mark
    if (typeof mark === 'string' || typeof mark === 'number') {
      const [v, mk] = String(mark).split('/')
      out.push(enrich(matchUsage(ids.next(), 'tc', 'packet', {value: Number(v) >>> 0, mask: mk ? Number(mk) >>> 0 : FULL_MASK}, false, where, raw, `${f.kind} mark ${mark}`), {}))
    }
    for (const a of findActions(f.options)) {
      if (a.kind === 'skbedit' && a.mark !== undefined) {
        const value = Number(a.mark) >>> 0
        const mask = a.mask !== undefined ? Number(a.mask) >>> 0 : FULL_MASK
        out.push(enrich(writeUsage(ids.next(), 'tc', {kind: 'set-mark', target: 'packet', value, mask}, where, raw, 'rule', `skbedit mark ${markText(value, mask)}`), {}))
      }
    }
  }
  return out
}

function findActions(opts: Record<string, unknown>): Array<{kind: string; mark?: unknown; mask?: unknown}> {
  const acts = (opts.actions ?? []) as Array<Record<string, unknown>>
  return Array.isArray(acts) ? acts.map((a) => ({kind: String(a.kind ?? ''), mark: a.mark, mask: a.mask})) : []
}

export interface AttachedProgram {
  progId: number
  progName?: string
  /** `tc ingress lxc48c4aa0637ce`, `tcx egress eth0`… */
  hooks: string[]
  /** Software of a recognised program (knowledge/programs.ts), for attribution. */
  software?: string
}

/** Mark writes and compares inferred from one program's instructions: always `program` evidence. */
export function usagesFromBpf(p: AttachedProgram, report: ProgramSummary, ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  const signals: AttributionSignals = p.software ? {programSoftware: p.software} : {}
  const base = (pc: number): MarkLocation => ({hooks: [...p.hooks], progId: p.progId, ...(p.progName ? {progName: p.progName} : {}), pc})
  // clang may emit the same store on two paths: one use per distinct operation of a program.
  const seen = new Set<string>()
  for (const w of report.writes) {
    const key = `${w.op}|${w.value}|${w.mask}|${w.unknownBits}`
    if (seen.has(key)) continue
    seen.add(key)
    const op: MarkOp =
      w.op === 'set' ? {kind: 'set', target: 'packet', value: w.value}
      : w.op === 'or' ? {kind: 'or', target: 'packet', value: w.value}
      : w.op === 'and' ? {kind: 'and', target: 'packet', value: w.value}
      : w.op === 'xor' ? {kind: 'xor', target: 'packet', value: w.value}
      : w.op === 'set-xmark' ? {kind: 'set-xmark', target: 'packet', value: w.value, mask: w.mask}
      : {kind: 'set-mark', target: 'packet', value: w.value, mask: w.mask}
    const u = writeUsage(ids.next(), 'ebpf', op, base(w.pc), w.disasm, 'program', `skb->mark: ${w.expr}`)
    if (w.op === 'unknown' || w.unknownBits) {
      u.uncertain = `bits ${hex(w.unknownBits)} come from a value the analysis could not follow`
      u.setsBits = (u.setsBits | w.unknownBits) >>> 0
      u.clearsBits = (u.clearsBits | w.unknownBits) >>> 0
    }
    out.push(enrich(u, signals))
  }
  for (const m of report.matches) {
    if (m.kind !== 'match') continue
    const key = `match|${m.value}|${m.mask}|${m.negated}`
    if (seen.has(key)) continue
    seen.add(key)
    const u = matchUsage(ids.next(), 'ebpf', 'packet', {value: m.value, mask: m.mask}, m.negated, base(m.pc), m.disasm, `if ((skb->mark & ${hex(m.mask)}) ${m.negated ? '!=' : '=='} ${hex(m.value)})`, 'match', 'program')
    out.push(enrich(u, signals))
  }
  return out
}

export type {Attribution}

/** `ip rule … fwmark V/M lookup T`: policy routing selected by mark bits (read from the kernel). */
export function usagesFromIpRules(rules: readonly IpRule[], ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  for (const r of rules) {
    if (!r.fwmark) continue
    const selects = r.action.kind === 'table' ? `lookup ${r.action.table}` : r.action.kind === 'goto' ? `goto ${r.action.target ?? 'none'}` : r.action.kind === 'other' ? r.action.type : r.action.kind
    const where: MarkLocation = {hooks: [`ip rule (${r.family === 'ipv6' ? 'IPv6' : 'IPv4'} policy routing)`], priority: r.priority, selects}
    const op = `${r.priority}: ${r.not ? 'not ' : ''}fwmark ${markText(r.fwmark.value, r.fwmark.mask)} ${selects}`
    const u = matchUsage(ids.next(), 'ip-rule', 'packet', r.fwmark, r.not, where, r.raw ?? op, op, 'route', 'kernel')
    out.push(enrich(u, {ipRuleTable: r.action.kind === 'table' ? r.action.table : undefined}))
  }
  return out
}

/** IPsec states and policies selected by mark (`mark 0xd00/0xf00`), and states that set an output mark. */
export function usagesFromXfrm(states: readonly XfrmState[], policies: readonly XfrmPolicy[], ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  for (const s of states) {
    const detail = `state ${s.src} → ${s.dst} ${s.proto} spi ${s.spi !== undefined ? hex(s.spi) : '?'} reqid ${s.reqid}`
    if (s.mark) out.push(enrich(matchUsage(ids.next(), 'xfrm', 'packet', s.mark, false, {hooks: ['xfrm state selection'], detail}, undefined, `xfrm ${detail} mark ${markText(s.mark.value, s.mark.mask)}`, 'lookup', 'kernel'), {}))
    if (s.outputMark) {
      const u = writeUsage(ids.next(), 'xfrm', {kind: 'set-mark', target: 'packet', value: s.outputMark.value & s.outputMark.mask, mask: s.outputMark.mask}, {hooks: ['xfrm (after transformation)'], detail}, undefined, 'kernel', `xfrm ${detail} output-mark ${markText(s.outputMark.value, s.outputMark.mask)}`)
      out.push(enrich(u, {}))
    }
  }
  for (const p of policies) {
    if (!p.mark) continue
    const detail = `policy dir ${p.dir} ${p.selector.src.address}/${p.selector.src.prefixLen} → ${p.selector.dst.address}/${p.selector.dst.prefixLen} ${p.action}`
    out.push(enrich(matchUsage(ids.next(), 'xfrm', 'packet', p.mark, false, {hooks: [`xfrm policy ${p.dir}`], detail}, undefined, `xfrm ${detail} mark ${markText(p.mark.value, p.mark.mask)}`, 'lookup', 'kernel'), {}))
  }
  return out
}

/**
 * Sockets with SO_MARK: every packet they send starts with that whole mark (read by routing: `ip rule fwmark`).
 * One use per (mark, process), however many sockets share it.
 */
export function usagesFromSockets(sockets: readonly SsSocket[], ids: UsageIds): MarkUsage[] {
  const groups = new Map<string, {mark: number; procs: string[]; sockets: SsSocket[]}>()
  for (const s of sockets) {
    if (!s.mark) continue
    const procs = [...new Set(s.processes.map((p) => p.name))].sort()
    const key = `${s.mark}|${procs.join(',')}`
    const g = groups.get(key) ?? {mark: s.mark, procs, sockets: []}
    g.sockets.push(s)
    groups.set(key, g)
  }
  const out: MarkUsage[] = []
  for (const g of groups.values()) {
    const first = g.sockets[0]!
    const detail = `${g.sockets.length} socket${g.sockets.length === 1 ? '' : 's'}, e.g. ${first.netid ?? ''} ${first.local.address}:${first.local.port} → ${first.peer.address}:${first.peer.port}`.replace(/\s+/g, ' ')
    const where: MarkLocation = {hooks: ['socket (SO_MARK on locally sent packets)'], detail, ...(g.procs.length ? {process: g.procs.join(', ')} : {})}
    const u = writeUsage(ids.next(), 'socket', {kind: 'set', target: 'packet', value: g.mark}, where, undefined, 'kernel', `SO_MARK ${hex(g.mark)}${g.procs.length ? ` (${g.procs.join(', ')})` : ''}`)
    out.push(enrich(u, {processes: g.procs}))
  }
  return out
}
