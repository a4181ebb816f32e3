import {MARK_OWNERS} from '../knowledge/mark-owners.js'
import {FULL_MASK, hex} from '../model/mark.js'
import type {Warning} from '../model/warning.js'
import {compact} from '../util/compact.js'
import type {NodeIdentity} from './hooks.js'
import {effectOn, isRead, listFlows, summariseFlows, type MarkFlow, type MarkFlowGroup} from './mark-flows.js'
import {bitRange, markText, ownerOf, popcount, UNATTRIBUTED, type MarkUsage} from './mark-usage.js'

/** v2: `flows` are groups (MarkFlowGroup); the pairs themselves are `flowPairs`, on request and bounded. */
const MARKS_SCHEMA = 'nodeinspect.marks/v2'

export {UNATTRIBUTED}

import {MAX_FLOW_PAIRS} from './mark-flow-limit.js'

/** @internal tested directly (a test seam) */
export {MAX_FLOW_PAIRS}

interface BitRow {
  bit: number
  hex: string
  /** Owner ids (or "unattributed") of the uses that may turn this bit on / off / read it. Whole-mark writers clear every bit; they are listed under clearedBy only, except for the bits they set. */
  setBy: string[]
  clearedBy: string[]
  matchedBy: string[]
  /** The one owner of every bitwise set and match of this bit; `shared` when several; absent when nothing uses it. */
  owner?: string
  usages: string[]
}

interface FieldValue {
  value: number
  hex: string
  meaning?: string
  setBy: string[]
  matchedBy: string[]
  /** Hooks where it is set or matched: the same value can mean different things in different directions. */
  contexts: string[]
}

/** A group of bits used together under one mask (Cilium's 0x0f00 nibble, kube-proxy's 0x4000 flag…). */
interface MarkField {
  markKind: 'packet' | 'conntrack'
  mask: number
  hex: string
  bits: string
  owners: string[]
  values: FieldValue[]
}

type FindingKind = 'owner-overlap' | 'whole-mark-clobber' | 'dead-match' | 'set-never-read' | 'connmark-cross-owner' | 'ip-rule-steered'

interface MarkFinding {
  kind: FindingKind
  severity: 'high' | 'medium' | 'low' | 'info'
  message: string
  bits: string
  /** Usage ids of the exact rules involved. */
  usages: string[]
  owners: string[]
}

export interface MarksReport {
  schema: typeof MARKS_SCHEMA
  node: NodeIdentity
  focus?: {bit?: number; mask?: string; rule?: string}
  summary: {
    usages: number
    owners: string[]
    unattributed: number
    findings: Record<MarkFinding['severity'], number>
    subsystems: Record<string, number>
    /** Flow groups listed, and the writer × reader pairs they stand for. */
    flows: {groups: number; pairs: number}
  }
  /** 32 characters, bit 31 first: an owner letter per bit, `*` several owners, `?` unattributed, `.` unused. */
  bitmap: string
  legend: Record<string, string>
  bits: BitRow[]
  fields: MarkField[]
  usages: MarkUsage[]
  /** Writes and the reads they reach, grouped (largest first). */
  flows: MarkFlowGroup[]
  /** Groups past MAX_FLOW_GROUPS: counted, not listed. */
  flowsOmitted?: {groups: number; pairs: number}
  /** Every pair, with --flows, --rule, --bit or --mask: at most MAX_FLOW_PAIRS, in the order the uses were found. */
  flowPairs?: MarkFlow[]
  /** Pairs past MAX_FLOW_PAIRS (or the caller's limit), not listed in flowPairs. */
  flowPairsOmitted?: number
  findings: MarkFinding[]
  warnings: Warning[]
}

const ownerName = (id: string): string => MARK_OWNERS.find((o) => o.id === id)?.name ?? id
const uniq = <T>(xs: Iterable<T>): T[] => [...new Set(xs)]
export interface AnalyseMarksOptions {
  bit?: number
  mask?: number
  /** Only these uses (ids, from selectRules), and the flows and findings they take part in. */
  rule?: {spec: string; ids: ReadonlySet<string>}
  /** List the flow pairs (`flowPairs`) even without a focus. */
  flows?: boolean
  /** At most this many pairs in flowPairs (MAX_FLOW_PAIRS). */
  pairLimit?: number
}

/**
 * The whole mark picture of a node from its uses. Pure. Memory is linear in the uses: flows are grouped
 * (summariseFlows), the pairs listed only on request and bounded.
 */
export function analyseMarks(node: NodeIdentity, all: MarkUsage[], warnings: Warning[], opts: AnalyseMarksOptions = {}): MarksReport {
  const focusMask = opts.bit !== undefined ? (1 << opts.bit) >>> 0 : opts.mask !== undefined ? opts.mask >>> 0 : FULL_MASK
  const touches = (u: MarkUsage) => ((u.setsBits | u.clearsBits | u.readsBits | u.mask) & focusMask) !== 0
  const findingsAll = findFindings(all)
  const usages = all.filter((u) => (focusMask === FULL_MASK || touches(u)) && (!opts.rule || opts.rule.ids.has(u.id)))
  const keep = new Set(usages.map((u) => u.id))
  const focused = usages.length !== all.length
  const kept = (u: MarkUsage) => !focused || keep.has(u.id)
  const packet = usages.filter((u) => u.markKind === 'packet' || u.role === 'save' || u.role === 'restore')

  const bits: BitRow[] = []
  for (let b = 31; b >= 0; b--) {
    const bit = (1 << b) >>> 0
    if (!(bit & focusMask)) continue
    // Restores copy bits in from the connection: they overwrite (cleared by) but own nothing.
    const setters = packet.filter((u) => u.role === 'set' && u.setsBits & bit && !(u.style === 'whole' && !(u.value & bit)))
    const clearers = packet.filter((u) => (u.role === 'set' || u.role === 'restore') && u.clearsBits & bit)
    const readers = packet.filter((u) => (u.role === 'match' || u.role === 'route' || u.role === 'lookup' || u.role === 'save') && u.readsBits & bit && u.readsBits !== FULL_MASK)
    const exactReaders = packet.filter((u) => (u.role === 'match' || u.role === 'route') && u.readsBits === FULL_MASK && u.value & bit)
    // Ownership: who sets the bit, or compares it inside a field (a mask of at most 16 bits). A near-whole
    // comparison (Cilium's 0xa00/0xfffffeff) only claims the bits it needs set, not the ones it needs clear.
    const claimers = [...setters, ...readers.filter((u) => popcount(u.readsBits) <= 16 || (u.value & bit) !== 0), ...exactReaders]
    const owners = uniq(claimers.map(ownerOf))
    const row: BitRow = compact({
      bit: b,
      hex: hex(bit),
      setBy: uniq(setters.map(ownerOf)),
      clearedBy: uniq(clearers.map(ownerOf)),
      matchedBy: uniq([...readers, ...exactReaders].map(ownerOf)),
      owner: owners.length === 0 ? undefined : owners.length === 1 ? owners[0] : 'shared',
      usages: uniq([...setters, ...clearers, ...readers, ...exactReaders].map((u) => u.id)),
    })
    bits.push(row)
  }

  const legend: Record<string, string> = {'.': 'unused', '?': 'unattributed', '*': 'several owners'}
  let bitmap = ''
  for (let b = 31; b >= 0; b--) {
    const row = bits.find((r) => r.bit === b)
    if (!row || !row.owner) bitmap += (1 << b) >>> 0 & focusMask ? '.' : ' '
    else if (row.owner === 'shared') bitmap += '*'
    else if (row.owner === UNATTRIBUTED) bitmap += '?'
    else {
      const o = MARK_OWNERS.find((x) => x.id === row.owner)
      bitmap += o?.letter ?? '?'
      if (o) legend[o.letter] = o.name
    }
  }

  const findings = findingsAll.filter((f) => f.usages.some((id) => keep.has(id)))
  const flows = summariseFlows(all, kept)
  const pairLimit = opts.pairLimit ?? MAX_FLOW_PAIRS
  const wantPairs = opts.flows || opts.rule !== undefined || opts.bit !== undefined || opts.mask !== undefined
  const flowPairs = wantPairs ? listFlows(all, kept, pairLimit) : undefined
  const sev = {high: 0, medium: 0, low: 0, info: 0}
  for (const f of findings) sev[f.severity]++
  const subsystems: Record<string, number> = {}
  for (const u of usages) subsystems[u.subsystem] = (subsystems[u.subsystem] ?? 0) + 1
  const report: MarksReport = {
    schema: MARKS_SCHEMA,
    node,
    summary: {
      usages: usages.length,
      owners: uniq(usages.map(ownerOf)).filter((o) => o !== UNATTRIBUTED).sort(),
      unattributed: usages.filter((u) => !u.owner).length,
      findings: sev,
      subsystems,
      flows: {groups: flows.groups.length, pairs: flows.pairs},
    },
    bitmap,
    legend,
    bits,
    fields: buildFields(usages),
    usages,
    flows: flows.groups,
    findings,
    warnings,
  }
  if (flows.groupsOmitted) report.flowsOmitted = {groups: flows.groupsOmitted, pairs: flows.pairsInOmittedGroups ?? 0}
  if (flowPairs) {
    report.flowPairs = flowPairs
    if (flows.pairs > flowPairs.length) report.flowPairsOmitted = flows.pairs - flowPairs.length
  }
  if (opts.bit !== undefined || opts.mask !== undefined || opts.rule) report.focus = compact({bit: opts.bit, mask: opts.mask !== undefined ? hex(opts.mask) : undefined, rule: opts.rule?.spec})
  return report
}

/** Group sets and matches by (mark kind, mask): the fields each owner uses and the values it gives them. */
function buildFields(usages: MarkUsage[]): MarkField[] {
  const byMask = new Map<string, MarkField>()
  for (const u of usages) {
    if (u.role !== 'set' && u.role !== 'match' && u.role !== 'route') continue
    if (u.uncertain) continue
    // A field is the bits compared (match) or written (set); an OR/AND flag is a one-bit-wide field of its own.
    const mask = u.role === 'set' ? (u.style === 'whole' ? FULL_MASK : u.mask) : u.mask
    if (mask === 0) continue
    const key = `${u.markKind}/${mask}`
    let f = byMask.get(key)
    if (!f) {
      f = {markKind: u.markKind, mask, hex: hex(mask), bits: bitRange(mask), owners: [], values: []}
      byMask.set(key, f)
    }
    const o = ownerOf(u)
    if (!f.owners.includes(o)) f.owners.push(o)
    const value = (u.role === 'set' ? u.value & mask : u.value) >>> 0
    let v = f.values.find((x) => x.value === value)
    if (!v) {
      v = {value, hex: hex(value), setBy: [], matchedBy: [], contexts: []}
      f.values.push(v)
    }
    if (u.meaning && !v.meaning) v.meaning = u.meaning
    ;(u.role === 'set' ? v.setBy : v.matchedBy).push(u.id)
    for (const c of u.where.hooks) if (!v.contexts.includes(c)) v.contexts.push(c)
  }
  const fields = [...byMask.values()]
  for (const f of fields) f.values.sort((a, b) => a.value - b.value)
  return fields.sort((a, b) => (a.markKind === b.markKind ? lowestBit(a.mask) - lowestBit(b.mask) || a.mask - b.mask : a.markKind === 'packet' ? -1 : 1))
}

function lowestBit(m: number): number {
  for (let b = 0; b < 32; b++) if ((m >>> b) & 1) return b
  return 32
}

function findFindings(usages: MarkUsage[]): MarkFinding[] {
  const out: MarkFinding[] = []
  const writes = usages.filter((u) => u.role === 'set' && u.markKind === 'packet')
  const reads = usages.filter((u) => (u.role === 'match' || u.role === 'route') && u.markKind === 'packet')
  const bitwiseOwners = new Map<string, number>() // owner → bits it uses bitwise (sets or compares under a mask)
  for (const u of usages) {
    if (u.style !== 'bitwise' || !u.owner) continue
    bitwiseOwners.set(ownerOf(u), ((bitwiseOwners.get(ownerOf(u)) ?? 0) | u.setsBits | u.readsBits) >>> 0)
  }

  // 1. two owners set overlapping bits (value level: does one's value land on a value the other matches?)
  // Only other owners' uses can collide: each write is tried against those alone (kept in their order), so a
  // node where one owner writes thousands of rules (Calico's policy chains) costs one pass, not writes².
  const otherOwners = (pool: MarkUsage[]) => {
    const byOwner = new Map<string, MarkUsage[]>()
    return (o: string) => byOwner.get(o) ?? byOwner.set(o, pool.filter((u) => ownerOf(u) !== o)).get(o)!
  }
  const otherWrites = otherOwners(writes.filter((u) => u.owner))
  const otherReads = otherOwners(reads.filter((u) => u.owner && !u.uncertain))
  const seenPair = new Set<string>()
  for (const a of writes) {
    for (const b of a.owner ? otherWrites(ownerOf(a)) : []) {
      if (a.id >= b.id || ownerOf(a) === ownerOf(b) || !a.owner || !b.owner) continue
      const overlap = a.setsBits & b.setsBits
      if (!overlap) continue
      const key = `${ownerOf(a)}|${ownerOf(b)}|${overlap}`
      if (seenPair.has(key)) continue
      seenPair.add(key)
      out.push({
        kind: 'owner-overlap',
        severity: 'high',
        message: `${ownerName(ownerOf(a))} and ${ownerName(ownerOf(b))} both set ${bitRange(overlap)} (${hex(overlap)}): ${a.operation} vs ${b.operation}`,
        bits: hex(overlap),
        usages: [a.id, b.id],
        owners: [ownerOf(a), ownerOf(b)],
      })
    }
    // a write landing in another owner's matched field, judged at the value level
    for (const r of a.uncertain ? [] : otherReads(ownerOf(a))) {
      // An unattributed writer is still someone else to an attributed reader.
      if (ownerOf(a) === ownerOf(r) || !r.owner || r.uncertain || a.uncertain) continue
      const overlap = ((a.setsBits | a.clearsBits) & r.readsBits) >>> 0
      if (!overlap || !(a.setsBits & r.readsBits)) continue
      const expected = (r.value & r.readsBits) >>> 0
      const landed = (a.setsBits & r.readsBits) >>> 0
      const decides = overlap === r.readsBits >>> 0 && !(a.setsBits & a.clearsBits & r.readsBits)
      const defeats = (landed & ~expected) >>> 0
      const them = ownerName(ownerOf(r))
      const mine = `${ownerName(ownerOf(a))}'s ${a.operation}`
      const theirs = `${them}'s ${r.operation}${r.meaning ? ` (${r.meaning.split(/[:;(]/)[0]!.trim()})` : ''}`
      let severity: MarkFinding['severity']
      let message: string
      if (decides && landed === expected) {
        severity = 'high'
        message = `${mine} writes ${markText(landed, r.readsBits)}, exactly the value ${theirs} ${r.negated ? 'excludes: that rule stops matching its packets' : 'matches: that rule fires on its packets'}`
      } else if (decides && r.negated) {
        continue // the exclusion still holds: no change in outcome
      } else if (defeats && !r.negated) {
        severity = 'medium'
        message = `${mine} sets ${bitRange(defeats)} that ${theirs} needs clear: that rule no longer matches packets carrying it`
      } else if (!r.negated) {
        severity = 'low'
        message = `${mine} sets ${bitRange(landed)} that ${theirs} compares: together with other bits it can make that rule match`
      } else continue
      out.push({kind: 'owner-overlap', severity, message, bits: hex(overlap), usages: [a.id, r.id], owners: [ownerOf(a), ownerOf(r)]})
    }
  }

  // 2. whole-mark writes on a node where others use bits bitwise
  // (a whole connmark restore is reported once, as connmark-cross-owner)
  // A socket's SO_MARK is the starting mark of what it sends, not a rewrite of other owners' bits.
  for (const w of usages.filter((u) => u.style === 'whole' && u.role === 'set' && u.markKind === 'packet' && u.subsystem !== 'socket')) {
    const victims = [...bitwiseOwners.entries()].filter(([o, bits]) => o !== ownerOf(w) && (bits & w.clearsBits) !== 0)
    if (victims.length === 0) continue
    const bits = victims.reduce((m, [, b]) => (m | (b & w.clearsBits)) >>> 0, 0)
    out.push({
      kind: 'whole-mark-clobber',
      severity: 'high',
      message: `${ownerName(ownerOf(w))} writes the whole mark (${w.operation}), clobbering ${bitRange(bits)} used by ${victims.map(([o]) => ownerName(o)).join(', ')}`,
      bits: hex(bits),
      usages: [w.id],
      owners: [ownerOf(w), ...victims.map(([o]) => o)],
    })
  }

  // 3. dead matches: compared bits that nothing seen here ever turns on
  // A restore only brings back bits the connection mark can hold: those some ct write or save puts there.
  const packetSets = usages.filter((u) => u.role === 'set' && u.markKind === 'packet').reduce((m, u) => (m | u.setsBits) >>> 0, 0)
  const ctSets = usages.reduce((m, u) => (u.role === 'set' && u.markKind === 'conntrack' ? m | u.setsBits : u.role === 'save' ? m | (u.setsBits & packetSets) : m) >>> 0, 0)
  const setAnywhere = usages.filter((u) => u.role === 'restore').reduce((m, u) => (m | (u.setsBits & ctSets)) >>> 0, packetSets)
  const unknownPrograms = usages.some((u) => u.subsystem === 'ebpf' && u.uncertain)
  for (const r of reads) {
    const needOn = (r.value & r.readsBits) >>> 0
    if (r.negated || needOn === 0 || r.uncertain) continue
    const missing = (needOn & ~setAnywhere) >>> 0
    if (!missing) continue
    out.push({
      kind: 'dead-match',
      severity: r.role === 'route' ? 'medium' : 'low',
      message: `${r.operation} needs ${bitRange(missing)} (${hex(missing)}) set, and nothing seen on this node sets ${popcount(missing) > 1 ? 'them' : 'it'}${unknownPrograms ? ' (some eBPF programs write values the analysis could not follow)' : ' (eBPF programs, sockets or a WireGuard fwmark outside what was read could)'}`,
      bits: hex(missing),
      usages: [r.id],
      owners: [ownerOf(r)],
    })
  }

  // 4. bits set that nothing reads (no match, ip rule, save, lookup)
  const readAnywhere = usages.filter(isRead).reduce((m, u) => (m | u.readsBits) >>> 0, 0)
  for (const w of writes) {
    if (w.style === 'whole' || w.uncertain) continue
    const unread = (w.setsBits & ~readAnywhere) >>> 0
    if (!unread) continue
    out.push({
      kind: 'set-never-read',
      severity: 'info',
      message: `${w.operation} sets ${bitRange(unread)} (${hex(unread)}) that no rule, ip rule or analysed program here reads (it may be read elsewhere: another node, a socket, a program not on a hook)`,
      bits: hex(unread),
      usages: [w.id],
      owners: [ownerOf(w)],
    })
  }

  // 5. connmark save/restore masks that carry one owner's bits into another's
  for (const c of usages.filter((u) => u.role === 'save' || u.role === 'restore')) {
    const carried = c.role === 'restore' ? c.clearsBits : c.readsBits
    const others = [...bitwiseOwners.entries()].filter(([o, bits]) => o !== ownerOf(c) && (bits & carried) !== 0)
    if (others.length === 0) continue
    const bits = others.reduce((m, [, b]) => (m | (b & carried)) >>> 0, 0)
    out.push({
      kind: 'connmark-cross-owner',
      severity: c.style === 'whole' ? 'high' : 'medium',
      message: `${c.operation} (${ownerName(ownerOf(c))}) copies ${bitRange(bits)} that ${others.map(([o]) => ownerName(o)).join(', ')} use${c.role === 'restore' ? ', overwriting them in the packet mark from the connection' : ' into the connection mark'}`,
      bits: hex(bits),
      usages: [c.id],
      owners: [ownerOf(c), ...others.map(([o]) => o)],
    })
  }

  // 6. ip rule fwmark selectors whose bits another owner sets: traffic steered by accident
  for (const r of usages.filter((u) => u.role === 'route')) {
    for (const w of writes) {
      if (ownerOf(w) === ownerOf(r) && r.owner) continue
      if (!w.owner && !r.owner) continue
      // Only a write that turns on a bit the rule needs set can steer traffic into it.
      const overlap = (w.setsBits & r.readsBits & r.value) >>> 0
      if (!overlap || r.negated) continue
      const e = effectOn(w, r)
      if (e.effect === 'none' || e.matches === false) continue
      out.push({
        kind: 'ip-rule-steered',
        severity: e.effect === 'decides' ? 'high' : 'medium',
        message: `${ownerName(ownerOf(w))}'s ${w.operation} ${e.effect === 'decides' ? 'selects' : 'can select'} ${r.operation}${r.owner ? ` (${ownerName(ownerOf(r))}'s)` : ''}: its packets are routed by that rule`,
        bits: hex(overlap),
        usages: [w.id, r.id],
        owners: uniq([ownerOf(w), ownerOf(r)]),
      })
    }
  }
  const rank = {high: 0, medium: 1, low: 2, info: 3}
  return out.sort((a, b) => rank[a.severity] - rank[b.severity])
}
