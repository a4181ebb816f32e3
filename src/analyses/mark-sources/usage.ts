/** How every mark source builds a use: ids, the write and match shapes, and the owner attribution. */
import {attribute, meaningOf, MARK_OWNERS, ownersByValue, type AttributionSignals} from '../../knowledge/mark-owners.js'
import {FULL_MASK, formatMarkOp, hex, type Mark, type MarkOp} from '../../model/mark.js'
import {opBits, popcount, type MarkLocation, type MarkSubsystem, type MarkUsage} from '../mark-usage.js'

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

export function writeUsage(id: string, subsystem: MarkSubsystem, op: MarkOp, where: MarkLocation, raw: string | undefined, evidence: MarkUsage['evidence'], operation?: string): MarkUsage {
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

export function matchUsage(id: string, subsystem: MarkSubsystem, on: 'packet' | 'conntrack', mark: Mark, negated: boolean, where: MarkLocation, raw: string | undefined, operation: string, role: MarkUsage['role'] = 'match', evidence: MarkUsage['evidence'] = 'rule'): MarkUsage {
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
