/**
 * Mark drift across a fleet (`marks --snapshot DIR`): per bit of the packet and conntrack marks, the nodes that
 * use it differently. Two ways fleets drift: the same owner with another mask (a Cilium upgrade on half the
 * nodes moves its field), or the bit held by different software on different nodes (Istio on some, Calico on
 * others). A node that does not use the bit at all is named, but is no drift by itself. Pure.
 */
import {hex} from '../model/mark.js'
import type {Warning} from '../model/warning.js'
import {compact} from '../util/compact.js'
import {analyseMarks, type MarksReport} from './marks.js'
import {ownerOf, type MarkUsage} from './mark-usage.js'

/** One node of the fleet: its name (the node's label, or its file's where labels repeat) and its mark uses. */
interface FleetNodeUses {
  name: string
  usages: readonly MarkUsage[]
}

interface DriftNode {
  node: string
  /** Owner ids of the uses of this bit on that node (`unattributed` too), sorted; empty: the node does not use it. */
  owners: string[]
  /** Per owner, the masks its uses of the bit carry (`0xf00`; `0xffffffff` for a whole-mark use), sorted. */
  masks: Record<string, string[]>
}

interface MarkDrift {
  markKind: 'packet' | 'conntrack'
  bit: number
  hex: string
  /** `owners-differ`: not every node that uses the bit gives it to the same software; `mask-differs`: one owner, other masks. */
  kind: 'owners-differ' | 'mask-differs'
  /** mask-differs: whose masks differ. */
  owner?: string
  message: string
  nodes: DriftNode[]
}

/** The bits a use takes part in: a bitwise use its mask's bits; a whole-mark use only the bits it sets or compares as 1. */
function bitsOf(u: MarkUsage): number {
  if (u.style === 'whole') return (u.setsBits | (u.role === 'set' ? 0 : u.value)) >>> 0
  return (u.mask | u.setsBits) >>> 0
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** "a, b on n1, n2; c on n3": the nodes grouped by what they have. */
function grouped(nodes: DriftNode[], what: (n: DriftNode) => string): string {
  const by = new Map<string, string[]>()
  for (const n of nodes) by.set(what(n), [...(by.get(what(n)) ?? []), n.node])
  return [...by.entries()].map(([k, ns]) => `${k} on ${ns.join(', ')}`).join('; ')
}

/** Every bit some nodes use differently, packet mark first, bit 31 first. @internal tested directly */
export function analyseMarkDrift(fleet: readonly FleetNodeUses[]): MarkDrift[] {
  const out: MarkDrift[] = []
  for (const markKind of ['packet', 'conntrack'] as const) {
    for (let bit = 31; bit >= 0; bit--) {
      const b = (1 << bit) >>> 0
      const nodes: DriftNode[] = fleet.map((n) => {
        const masks: Record<string, Set<string>> = {}
        for (const u of n.usages) {
          if (u.markKind !== markKind || (bitsOf(u) & b) === 0) continue
          ;(masks[ownerOf(u)] ??= new Set()).add(hex(u.style === 'whole' ? 0xffffffff : u.mask))
        }
        const owners = Object.keys(masks).sort()
        return {node: n.name, owners, masks: Object.fromEntries(owners.map((o) => [o, [...masks[o]!].sort()]))}
      })
      const using = nodes.filter((n) => n.owners.length > 0)
      if (using.length < 2) continue
      const unused = nodes.filter((n) => n.owners.length === 0).map((n) => n.node)
      const tail = unused.length ? ` (unused on ${unused.join(', ')})` : ''
      const head = `${markKind === 'conntrack' ? 'conntrack mark ' : ''}bit ${bit} (${hex(b)})`
      if (!using.every((n) => sameList(n.owners, using[0]!.owners))) {
        out.push({markKind, bit, hex: hex(b), kind: 'owners-differ', message: `${head} is used by ${grouped(using, (n) => n.owners.join(' and '))}${tail}`, nodes})
        continue
      }
      for (const owner of using[0]!.owners) {
        if (using.every((n) => sameList(n.masks[owner]!, using[0]!.masks[owner]!))) continue
        out.push({markKind, bit, hex: hex(b), kind: 'mask-differs', owner, message: `${head}: ${owner} uses it with mask ${grouped(using, (n) => n.masks[owner]!.join(', '))}${tail}`, nodes})
      }
    }
  }
  return out
}

/** One node of `marks --snapshot DIR`: where it came from and its own report's overview. */
interface FleetNodeSummary {
  name: string
  file?: string
  node: MarksReport['node']
  bitmap: string
  legend: MarksReport['legend']
  summary: MarksReport['summary']
}

/** `marks --snapshot DIR --json`: every node's overview and the bits they use differently (docs/json-marks.md, "fleet"). */
export interface MarksFleetReport {
  schema: MarksReport['schema']
  fleet: {directories: string[]; nodes: FleetNodeSummary[]; drift: MarkDrift[]}
  warnings: Warning[]
}

export interface FleetNodeInput extends FleetNodeUses {
  file?: string
  node: MarksReport['node']
  warnings: Warning[]
}

/** The fleet view: each node analysed alone for its overview, then the drift between them. */
export function analyseMarksFleet(directories: string[], fleet: readonly FleetNodeInput[]): MarksFleetReport {
  const reports = fleet.map((n) => analyseMarks(n.node, [...n.usages], n.warnings))
  return {
    schema: reports[0]?.schema ?? 'nodeinspect.marks/v2',
    fleet: {
      directories,
      nodes: fleet.map((n, i) => compact({name: n.name, file: n.file, node: n.node, bitmap: reports[i]!.bitmap, legend: reports[i]!.legend, summary: reports[i]!.summary})),
      drift: analyseMarkDrift(fleet),
    },
    warnings: fleet.flatMap((n) => n.warnings.map((w) => ({...w, message: `${n.name}: ${w.message}`}))),
  }
}
