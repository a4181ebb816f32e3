import type {MarksFleetReport} from '../analyses/mark-drift.js'
import {printableReport} from '../util/printable.js'
import {PLAIN, type Style} from './style.js'
import {TextTable} from './text-table.js'

const MAX_WARNINGS = 10

/**
 * `marks --snapshot DIR`: one bit-map line per node (the same columns as a one-node report), then each bit
 * the nodes use differently, and how each node uses it. Computes nothing: the drift comes from the analysis.
 */
export function renderMarksFleet(report: MarksFleetReport, style: Style = PLAIN, columns = 120): string {
  const r = printableReport(report) // node names, owners, warnings: from the snapshots, made printable
  const out: string[] = []
  const nodes = r.fleet.nodes
  out.push(style.bold(`fleet: ${nodes.length} snapshot${nodes.length === 1 ? '' : 's'} from ${r.fleet.directories.join(', ')}`))
  out.push('')
  const width = nodes.reduce((w, n) => Math.max(w, n.name.length), 4)
  out.push(`${'node'.padEnd(width)}  packet mark, bit 31 … bit 0       uses  owners`)
  for (const n of nodes) {
    const f = n.summary.findings
    out.push(`${n.name.padEnd(width)}  ${n.bitmap}  ${String(n.summary.usages).padStart(4)}  ${n.summary.owners.join(', ') || 'none'}${f.high + f.medium ? ` (findings: ${f.high} high, ${f.medium} medium)` : ''}`)
  }
  const legend = new Map<string, string>()
  for (const n of nodes) for (const [k, v] of Object.entries(n.legend)) if (!legend.has(k)) legend.set(k, v)
  if (legend.size) out.push(`legend: ${[...legend.entries()].map(([k, v]) => `${k} ${v}`).join(' · ')}`)
  out.push('')
  if (r.fleet.drift.length === 0) {
    out.push(nodes.length < 2 ? 'drift: one node, nothing to compare' : 'drift: none: every bit used on more than one node has the same owners and masks there')
  } else {
    out.push(style.bold(`drift: ${r.fleet.drift.length} bit${r.fleet.drift.length === 1 ? '' : 's'} used differently across nodes`))
    const t = new TextTable({head: ['bit', 'drift', 'how each node uses it'], colWidths: [10, 16, Math.max(40, columns - 30)], wordWrap: true})
    for (const d of r.fleet.drift) {
      const how = d.nodes.map((n) => `${n.node}: ${n.owners.length ? n.owners.map((o) => `${o} ${n.masks[o]!.join(', ')}`).join('; ') : 'unused'}`).join('\n')
      t.push([`${d.markKind === 'conntrack' ? 'ct ' : ''}${d.bit} ${d.hex}`, d.kind === 'mask-differs' ? `mask (${d.owner})` : 'owners', how])
    }
    out.push(t.toString())
  }
  // A fleet of old snapshots repeats the same warnings per node: the first few, then how many (--json lists all).
  for (const w of r.warnings.slice(0, MAX_WARNINGS)) out.push(style.warn(`warning: ${w.message}`))
  if (r.warnings.length > MAX_WARNINGS) out.push(style.warn(`warning: … and ${r.warnings.length - MAX_WARNINGS} more (--json lists them all)`))
  return out.join('\n')
}
