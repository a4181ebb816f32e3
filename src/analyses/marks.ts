import {MARK_OWNERS} from '../knowledge/mark-owners.js'
import {FULL_MASK, hex} from '../model/mark.js'
import type {Warning} from '../probes/parsed.js'
import {compact} from '../util/compact.js'
import type {NodeIdentity} from './hooks.js'
import {bitsOf, markText, popcount, type MarkUsage} from './mark-usage.js'

export const MARKS_SCHEMA = 'nodeinspect.marks/v1'

/** `unattributed` for uses no signal ties to a known owner. */
export const UNATTRIBUTED = 'unattributed'

export interface BitRow {
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

export interface FieldValue {
  value: number
  hex: string
  meaning?: string
  setBy: string[]
  matchedBy: string[]
  /** Hooks where it is set or matched: the same value can mean different things in different directions. */
  contexts: string[]
}

/** A group of bits used together under one mask (Cilium's 0x0f00 nibble, kube-proxy's 0x4000 flag…). */
export interface MarkField {
  markKind: 'packet' | 'conntrack'
  mask: number
  hex: string
  bits: string
  owners: string[]
  values: FieldValue[]
}

/** From the use that writes bits to the uses that read them. */
export interface MarkFlow {
  from: string
  to: string
  /** `netfilter → ip rule`, `ebpf → netfilter`, `connmark save → restore`, `socket → ip rule`… */
  path: string
  /** `decides`: the write sets every compared bit (`matches` then says whether the reader's test holds after it); `partial`: the outcome also depends on other bits. */
  effect: 'decides' | 'partial'
  matches?: boolean
  bits: string
}

export type FindingKind = 'owner-overlap' | 'whole-mark-clobber' | 'dead-match' | 'set-never-read' | 'connmark-cross-owner' | 'ip-rule-steered'

export interface MarkFinding {
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
  focus?: {bit?: number; mask?: string}
  summary: {usages: number; owners: string[]; unattributed: number; findings: Record<MarkFinding['severity'], number>; subsystems: Record<string, number>}
  /** 32 characters, bit 31 first: an owner letter per bit, `*` several owners, `?` unattributed, `.` unused. */
  bitmap: string
  legend: Record<string, string>
  bits: BitRow[]
  fields: MarkField[]
  usages: MarkUsage[]
  flows: MarkFlow[]
  findings: MarkFinding[]
  warnings: Warning[]
}

const ownerOf = (u: MarkUsage): string => u.owner?.owner ?? UNATTRIBUTED
const ownerName = (id: string): string => MARK_OWNERS.find((o) => o.id === id)?.name ?? id
const uniq = <T>(xs: Iterable<T>): T[] => [...new Set(xs)]
const SUBSYSTEM_FAMILY: Record<string, string> = {iptables: 'netfilter', ip6tables: 'netfilter', 'iptables-legacy': 'netfilter', 'ip6tables-legacy': 'netfilter', nft: 'netfilter', 'ip-rule': 'ip rule', tc: 'tc', xfrm: 'xfrm', socket: 'socket', ebpf: 'ebpf'}

export interface AnalyseMarksOptions {
  bit?: number
  mask?: number
}

/** The whole mark picture of a node from its uses. Pure; O(uses²) only among uses that share bits. */
export function analyseMarks(node: NodeIdentity, all: MarkUsage[], warnings: Warning[], opts: AnalyseMarksOptions = {}): MarksReport {
  const focusMask = opts.bit !== undefined ? (1 << opts.bit) >>> 0 : opts.mask !== undefined ? opts.mask >>> 0 : FULL_MASK
  const touches = (u: MarkUsage) => ((u.setsBits | u.clearsBits | u.readsBits | u.mask) & focusMask) !== 0
  const findingsAll = findFindings(all)
  const flowsAll = findFlows(all)
  const usages = focusMask === FULL_MASK ? all : all.filter(touches)
  const keep = new Set(usages.map((u) => u.id))
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
  const flows = flowsAll.filter((f) => keep.has(f.from) || keep.has(f.to))
  const sev = {high: 0, medium: 0, low: 0, info: 0}
  for (const f of findings) sev[f.severity]++
  const subsystems: Record<string, number> = {}
  for (const u of usages) subsystems[u.subsystem] = (subsystems[u.subsystem] ?? 0) + 1
  const report: MarksReport = {
    schema: MARKS_SCHEMA,
    node,
    summary: {usages: usages.length, owners: uniq(usages.map(ownerOf)).filter((o) => o !== UNATTRIBUTED).sort(), unattributed: usages.filter((u) => !u.owner).length, findings: sev, subsystems},
    bitmap,
    legend,
    bits,
    fields: buildFields(usages),
    usages,
    flows,
    findings,
    warnings,
  }
  if (opts.bit !== undefined || opts.mask !== undefined) report.focus = compact({bit: opts.bit, mask: opts.mask !== undefined ? hex(opts.mask) : undefined})
  return report
}

function contextOf(u: MarkUsage): string {
  return u.where.hooks.join(', ')
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

/** "bits 8-11", "bit 14", "bits 0-31", "bits 4,6,9". */
export function bitRange(mask: number): string {
  const bs = bitsOf(mask)
  if (bs.length === 0) return 'no bits'
  if (bs.length === 1) return `bit ${bs[0]}`
  const contiguous = bs[bs.length - 1]! - bs[0]! + 1 === bs.length
  return contiguous ? `bits ${bs[0]}-${bs[bs.length - 1]}` : `bits ${bs.join(',')}`
}

function isWrite(u: MarkUsage): boolean {
  return u.role === 'set' || u.role === 'restore' || u.role === 'save'
}

function isRead(u: MarkUsage): boolean {
  return u.role === 'match' || u.role === 'route' || u.role === 'lookup' || u.role === 'save'
}

/** The mark kind a use writes: save writes the conntrack mark, restore the packet mark. */
function writesKind(u: MarkUsage): 'packet' | 'conntrack' {
  return u.role === 'save' ? 'conntrack' : u.role === 'restore' ? 'packet' : u.markKind
}

function readsKind(u: MarkUsage): 'packet' | 'conntrack' {
  return u.role === 'save' ? 'packet' : u.role === 'restore' ? 'conntrack' : u.markKind
}

/**
 * What a write does to a reader: `decides` when it writes every compared bit (then `matches` says whether the
 * reader's test holds afterwards, negation included), `partial` when the outcome also depends on bits it leaves
 * alone (or flips), `none` when it touches none of them.
 */
function effectOn(w: MarkUsage, r: MarkUsage): {effect: 'decides' | 'partial' | 'none'; matches?: boolean} {
  const written = (w.setsBits | w.clearsBits) & r.readsBits
  if (written === 0) return {effect: 'none'}
  if (w.role !== 'set' || w.uncertain || r.role === 'lookup' || r.role === 'save') return {effect: 'partial'}
  // Bits both set and cleared by the same write are flipped (xor): the outcome depends on the mark before it.
  if ((w.setsBits & w.clearsBits & r.readsBits) !== 0 || (written >>> 0) !== (r.readsBits >>> 0)) return {effect: 'partial'}
  const eq = ((w.setsBits & r.readsBits) >>> 0) === ((r.value & r.readsBits) >>> 0)
  return {effect: 'decides', matches: eq !== !!r.negated}
}

function findFlows(usages: MarkUsage[]): MarkFlow[] {
  const flows: MarkFlow[] = []
  const writes = usages.filter(isWrite)
  const reads = usages.filter(isRead)
  for (const w of writes) {
    for (const r of reads) {
      if (w.id === r.id || writesKind(w) !== readsKind(r)) continue
      if (((w.setsBits | w.clearsBits) & r.readsBits) === 0) continue
      const e = effectOn(w, r)
      if (e.effect === 'none') continue
      const fromFam = w.role === 'save' ? 'connmark save' : w.role === 'restore' ? 'connmark restore' : SUBSYSTEM_FAMILY[w.subsystem]!
      const toFam = r.role === 'restore' ? 'connmark restore' : SUBSYSTEM_FAMILY[r.subsystem]!
      flows.push(compact({from: w.id, to: r.id, path: `${fromFam} → ${toFam}`, effect: e.effect, matches: e.matches, bits: bitRange((w.setsBits | w.clearsBits) & r.readsBits)}))
    }
  }
  return flows
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
  const seenPair = new Set<string>()
  for (const a of writes) {
    for (const b of writes) {
      if (a.id >= b.id || ownerOf(a) === ownerOf(b) || !a.owner || !b.owner) continue
      const overlap = a.setsBits & b.setsBits & ~(a.style === 'whole' ? 0 : 0)
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
    for (const r of reads) {
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
