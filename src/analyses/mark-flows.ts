import {compact} from '../util/compact.js'
import {bitRange, ownerOf, type MarkUsage} from './mark-usage.js'

/** One write reaching one read: the per-pair detail (`--flows`, `--rule`). */
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

/** One side of a flow group: uses that share an owner, an operation (writers) or a compared mask (readers), and hooks. */
interface FlowEnd {
  owner: string
  /** Writers: the one operation they all perform. Readers: the first reader's operation (the others compare the same mask). */
  operation: string
  hooks: string[]
  /** How many uses on this side take part in the group. */
  uses: number
}

/**
 * Writes and reads that meet on the same bits, grouped by the bits, the writer's operation, owner and hooks, and
 * the reader's owner, compared mask and hooks: a node with a thousand identical Calico policy chains has one
 * group, not a million pairs.
 */
export interface MarkFlowGroup {
  path: string
  markKind: 'packet' | 'conntrack'
  /** The bits the writers write and the readers compare. */
  bits: string
  effect: 'decides' | 'partial'
  matches?: boolean
  from: FlowEnd
  to: FlowEnd & {
    /** What the readers compare under `mask`: `0x10000/0x10000`, `! 0x4000/0x4000`. The first 8 distinct, then `valuesOmitted`. */
    values: string[]
    valuesOmitted?: number
  }
  /** Writer × reader pairs in the group. */
  pairs: number
  /** The first pairs, as usage ids. */
  examples: Array<{from: string; to: string}>
}

export interface FlowSummary {
  groups: MarkFlowGroup[]
  /** Writer × reader pairs in every group. */
  pairs: number
  /** Groups beyond MAX_FLOW_GROUPS, counted but not listed (with their pairs). */
  groupsOmitted?: number
  pairsInOmittedGroups?: number
}

/** Enough for any real node (a group is a distinct operation × reader class); past it the count still comes. */
const MAX_FLOW_GROUPS = 5_000
const EXAMPLES = 3
const VALUES = 8

const SUBSYSTEM_FAMILY: Record<string, string> = {iptables: 'netfilter', ip6tables: 'netfilter', 'iptables-legacy': 'netfilter', 'ip6tables-legacy': 'netfilter', nft: 'netfilter', 'ip-rule': 'ip rule', tc: 'tc', xfrm: 'xfrm', socket: 'socket', ebpf: 'ebpf'}

/** @internal tested directly (a test seam) */
export function isWrite(u: MarkUsage): boolean {
  return u.role === 'set' || u.role === 'restore' || u.role === 'save'
}

export function isRead(u: MarkUsage): boolean {
  return u.role === 'match' || u.role === 'route' || u.role === 'lookup' || u.role === 'save'
}

/** The mark kind a use writes: save writes the conntrack mark, restore the packet mark. */
function writesKind(u: MarkUsage): 'packet' | 'conntrack' {
  return u.role === 'save' ? 'conntrack' : u.role === 'restore' ? 'packet' : u.markKind
}

function readsKind(u: MarkUsage): 'packet' | 'conntrack' {
  return u.role === 'save' ? 'packet' : u.role === 'restore' ? 'conntrack' : u.markKind
}

const fromFamily = (w: MarkUsage) => (w.role === 'save' ? 'connmark save' : w.role === 'restore' ? 'connmark restore' : SUBSYSTEM_FAMILY[w.subsystem]!)
const toFamily = (r: MarkUsage) => (r.role === 'restore' ? 'connmark restore' : SUBSYSTEM_FAMILY[r.subsystem]!)

/**
 * What a write does to a reader: `decides` when it writes every compared bit (then `matches` says whether the
 * reader's test holds afterwards, negation included), `partial` when the outcome also depends on bits it leaves
 * alone (or flips), `none` when it touches none of them.
 */
export function effectOn(w: MarkUsage, r: MarkUsage): {effect: 'decides' | 'partial' | 'none'; matches?: boolean} {
  const written = (w.setsBits | w.clearsBits) & r.readsBits
  if (written === 0) return {effect: 'none'}
  if (w.role !== 'set' || w.uncertain || r.role === 'lookup' || r.role === 'save') return {effect: 'partial'}
  // Bits both set and cleared by the same write are flipped (xor): the outcome depends on the mark before it.
  if ((w.setsBits & w.clearsBits & r.readsBits) !== 0 || (written >>> 0) !== (r.readsBits >>> 0)) return {effect: 'partial'}
  const eq = ((w.setsBits & r.readsBits) >>> 0) === ((r.value & r.readsBits) >>> 0)
  return {effect: 'decides', matches: eq !== !!r.negated}
}

/** The flow from w to r, or undefined when w cannot change what r sees. @internal tested directly (a test seam) */
export function flowBetween(w: MarkUsage, r: MarkUsage): MarkFlow | undefined {
  if (w.id === r.id || writesKind(w) !== readsKind(r)) return undefined
  if (((w.setsBits | w.clearsBits) & r.readsBits) === 0) return undefined
  const e = effectOn(w, r)
  if (e.effect === 'none') return undefined
  return compact({from: w.id, to: r.id, path: `${fromFamily(w)} → ${toFamily(r)}`, effect: e.effect, matches: e.matches, bits: bitRange((w.setsBits | w.clearsBits) & r.readsBits)})
}

/**
 * Everything effectOn and flowBetween look at, so that uses with the same key behave alike towards any other
 * use: flows are worked out once per pair of keys, never per pair of uses.
 */
function writerKey(w: MarkUsage): string {
  return [w.role, w.subsystem, writesKind(w), w.setsBits, w.clearsBits, w.uncertain ? 1 : 0, ownerOf(w), w.operation, w.where.hooks.join('\n')].join('\u0000')
}
function readerClass(r: MarkUsage): string {
  return [r.role, r.subsystem, readsKind(r), r.readsBits, r.negated ? 1 : 0, ownerOf(r), r.where.hooks.join('\n')].join('\u0000')
}

interface Part {
  /** The first use stands for all: they share the key. */
  members: MarkUsage[]
  kept: MarkUsage[]
  rest: MarkUsage[]
}

function partsOf(us: readonly MarkUsage[], key: (u: MarkUsage) => string, keep: (u: MarkUsage) => boolean): Part[] {
  const m = new Map<string, Part>()
  for (const u of us) {
    const k = key(u)
    let p = m.get(k)
    if (!p) m.set(k, (p = {members: [], kept: [], rest: []}))
    p.members.push(u)
    ;(keep(u) ? p.kept : p.rest).push(u)
  }
  return [...m.values()]
}

const readerValue = (r: MarkUsage) => `${r.negated ? '! ' : ''}0x${((r.value & r.readsBits) >>> 0).toString(16)}/0x${(r.readsBits >>> 0).toString(16)}`

interface Builder {
  group: MarkFlowGroup
  /** Which halves of the writer key took part: 1 kept, 2 the rest. */
  writerHalves: number
  values: Set<string>
}

/**
 * Flows from every write to the reads it reaches, grouped (MarkFlowGroup): memory grows with the distinct
 * operations and reader classes, not with writers × readers. A pair counts when either end is kept (the focus).
 * Time is one pass over the uses plus one step per pair of (writer key, reader key).
 */
export function summariseFlows(usages: readonly MarkUsage[], keep: (u: MarkUsage) => boolean = () => true): FlowSummary {
  const writers = partsOf(usages.filter(isWrite), writerKey, keep)
  // Reader keys carry the compared value too (it decides `matches`); groups do not.
  const readers = partsOf(usages.filter(isRead), (r) => `${readerClass(r)}\u0000${r.value & r.readsBits}`, keep)
  const groups = new Map<string, Builder>()
  let pairs = 0
  let groupsOmitted = 0
  let pairsInOmittedGroups = 0
  for (const wp of writers) {
    const w = wp.members[0]!
    const wk = writerKey(w)
    for (const rp of readers) {
      // Pairs with neither end kept are out of focus.
      const nPairs = wp.kept.length * rp.members.length + wp.rest.length * rp.kept.length
      if (nPairs === 0) continue
      const r = rp.members[0]!
      const f = flowBetween(w, r)
      if (!f) continue
      // (flowBetween's w.id === r.id only arises for a save, which writes the other kind: never here.)
      pairs += nPairs
      const key = `${wk}\u0001${readerClass(r)}\u0001${f.effect}${f.matches}`
      let b = groups.get(key)
      if (!b) {
        if (groups.size >= MAX_FLOW_GROUPS) {
          groupsOmitted++
          pairsInOmittedGroups += nPairs
          continue
        }
        const group: MarkFlowGroup = {
          path: f.path,
          markKind: writesKind(w),
          bits: f.bits,
          effect: f.effect,
          ...(f.matches !== undefined ? {matches: f.matches} : {}),
          from: {owner: ownerOf(w), operation: w.operation, hooks: [...w.where.hooks], uses: 0},
          to: {owner: ownerOf(r), operation: r.operation, hooks: [...r.where.hooks], uses: 0, values: []},
          pairs: 0,
          examples: [],
        }
        b = {group, writerHalves: 0, values: new Set()}
        groups.set(key, b)
      }
      const g = b.group
      g.pairs += nPairs
      // Kept writers meet every reader; the rest only kept readers.
      const readersHere = wp.kept.length > 0 ? rp.members.length : rp.kept.length
      g.to.uses += readersHere
      b.writerHalves |= (wp.kept.length > 0 ? 1 : 0) | (rp.kept.length > 0 && wp.rest.length > 0 ? 2 : 0)
      const v = readerValue(r)
      if (!b.values.has(v)) {
        b.values.add(v)
        if (g.to.values.length < VALUES) g.to.values.push(v)
        else g.to.valuesOmitted = (g.to.valuesOmitted ?? 0) + 1
      }
      for (const [xs, ys] of [[wp.kept, rp.members], [wp.rest, rp.kept]] as const) {
        for (const x of xs) {
          if (g.examples.length >= EXAMPLES || ys.length === 0) break
          for (const y of ys) {
            if (g.examples.length >= EXAMPLES) break
            g.examples.push({from: x.id, to: y.id})
          }
        }
      }
      g.from.uses = (b.writerHalves & 1 ? wp.kept.length : 0) + (b.writerHalves & 2 ? wp.rest.length : 0)
    }
  }
  const out: FlowSummary = {groups: [...groups.values()].map((b) => b.group).sort((a, b) => b.pairs - a.pairs), pairs}
  if (groupsOmitted) {
    out.groupsOmitted = groupsOmitted
    out.pairsInOmittedGroups = pairsInOmittedGroups
  }
  return out
}

/**
 * The pairs themselves, writer by writer in the order the uses were found, at most `limit` of them (the rest are
 * only counted: summariseFlows has the total). A pair counts when either end is kept.
 */
export function listFlows(usages: readonly MarkUsage[], keep: (u: MarkUsage) => boolean, limit: number): MarkFlow[] {
  const out: MarkFlow[] = []
  const readers = usages.filter(isRead)
  const order = new Map(readers.map((r, i) => [r.id, i]))
  const anyKeptReader = readers.some(keep)
  // Reader keys again: one flowBetween per (writer, reader key), then its members.
  const rparts = partsOf(readers, (r) => `${readerClass(r)}\u0000${r.value & r.readsBits}`, keep)
  for (const w of usages) {
    if (out.length >= limit) break
    if (!isWrite(w)) continue
    const wKept = keep(w)
    if (!wKept && !anyKeptReader) continue
    // This writer's pairs in the order the readers were found (as before grouping), then the first that fit.
    const mine: Array<{i: number; f: MarkFlow; r: MarkUsage}> = []
    for (const rp of rparts) {
      const rs = wKept ? rp.members : rp.kept
      if (rs.length === 0) continue
      const f = flowBetween(w, rp.members[0]!)
      if (!f) continue
      for (const r of rs) if (r.id !== w.id) mine.push({i: order.get(r.id)!, f, r})
    }
    mine.sort((a, b) => a.i - b.i)
    for (const m of mine) {
      if (out.length >= limit) break
      out.push({...m.f, to: m.r.id})
    }
  }
  return out
}
