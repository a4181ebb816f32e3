import type {MarkUsage} from '../mark-usage.js'
import type {MarksReport} from '../marks.js'
import {multisetDiff, withoutIds} from './multiset.js'

/** A mark use as the diff lists it: what it does and where, without the id that numbers it in one report. */
export interface DiffMarkUse {
  subsystem: MarkUsage['subsystem']
  markKind: MarkUsage['markKind']
  role: MarkUsage['role']
  operation: string
  place: string
  owner?: string
  raw?: string
}

export interface DiffFinding {
  kind: string
  severity: MarksReport['findings'][number]['severity']
  message: string
}

function useOf(u: MarkUsage): DiffMarkUse {
  const d: DiffMarkUse = {subsystem: u.subsystem, markKind: u.markKind, role: u.role, operation: u.operation, place: u.where.place}
  if (u.owner) d.owner = u.owner.owner
  if (u.raw !== undefined) d.raw = u.raw
  return d
}

/** A use's meaning: the same operation in the same place (its position and program id aside: they move). */
const useKey = (u: DiffMarkUse): string => [u.subsystem, u.markKind, u.role, u.operation, withoutIds(u.place), u.owner ?? ''].join('\u0000')
const findingKey = (f: DiffFinding): string => `${f.kind}\u0000${withoutIds(f.message)}`

/** Mark uses added and removed, and findings (owner collisions…) that appeared or went away. */
export function diffMarks(a: MarksReport, b: MarksReport): {uses: {added: DiffMarkUse[]; removed: DiffMarkUse[]}; findings: {appeared: DiffFinding[]; resolved: DiffFinding[]}} {
  const uses = multisetDiff(a.usages.map(useOf), b.usages.map(useOf), useKey)
  const f = (r: MarksReport): DiffFinding[] => r.findings.map((x) => ({kind: x.kind, severity: x.severity, message: x.message}))
  const findings = multisetDiff(f(a), f(b), findingKey)
  return {uses, findings: {appeared: findings.added, resolved: findings.removed}}
}
