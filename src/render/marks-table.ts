import type {MarkUsage} from '../analyses/mark-usage.js'
import {UNATTRIBUTED, type MarksReport} from '../analyses/marks.js'
import {printableReport} from '../util/printable.js'
import {PLAIN, type Style} from './style.js'
import {TextTable as Table} from './text-table.js'

const table = (head: string[], colWidths?: number[]) =>
  new Table({head, style: {head: [], border: [], 'padding-left': 1, 'padding-right': 1}, wordWrap: true, ...(colWidths ? {colWidths} : {})})

function ownerLabel(r: MarksReport, id: string | undefined): string {
  if (!id) return '-'
  if (id === UNATTRIBUTED) return 'unattributed'
  if (id === 'shared') return 'SHARED'
  const u = r.usages.find((x) => x.owner?.owner === id)
  return u?.owner?.ownerName ?? id
}

function list(r: MarksReport, ids: string[]): string {
  return ids.length ? ids.map((i) => ownerLabel(r, i)).join(', ') : '-'
}

function whereText(u: MarkUsage): string {
  const w = u.where
  const parts: string[] = []
  if (u.subsystem === 'ip-rule') parts.push(`ip rule pref ${w.priority}`)
  else if (u.subsystem === 'ebpf') parts.push(`prog ${w.progId}${w.progName ? ` ${w.progName}` : ''} @${w.pc}`)
  else if (u.subsystem === 'tc') parts.push(`tc ${w.direction} ${w.device} pref ${w.priority ?? '?'}`)
  else if (u.subsystem === 'xfrm') parts.push(w.detail ?? 'xfrm')
  else if (u.subsystem === 'socket') parts.push(`${w.process ?? 'socket'}: ${w.detail ?? ''}`)
  else if (w.table) parts.push(`${u.subsystem} ${w.table} ${w.chain}${w.position !== undefined ? ` #${w.position}` : ''}`)
  const hooks = w.hooks.filter((h) => !(u.subsystem.startsWith('ip') && u.subsystem !== 'ip-rule' && h === `${w.table}/${w.chain}`))
  if (hooks.length && u.subsystem !== 'ip-rule' && u.subsystem !== 'xfrm' && u.subsystem !== 'socket') parts.push(hooks[0]!.startsWith('unreachable') ? hooks[0]! : `reached from ${hooks.join(', ')}`)
  return parts.join('\n')
}

function ownerText(u: MarkUsage): string {
  if (u.owner) return `${u.owner.ownerName}\n(by ${u.owner.basis} ${u.owner.matched})`
  return u.candidates?.length ? `unattributed\n(documented by: ${u.candidates.join('; ')})` : 'unattributed'
}

/** The human view of a marks report: bit map, findings, fields, the 32-row bit table, every use, flows. */
export function renderMarks(report: MarksReport, style: Style = PLAIN, columns = 120): string {
  const r = printableReport(report) // rule comments, process names, warnings: from the node, made printable
  const out: string[] = []
  const n = r.node
  out.push(style.bold([`node ${n.hostname ?? '?'}`, n.netns ? `netns ${n.netns}` : undefined, n.kernel ? `kernel ${n.kernel}` : undefined, n.source === 'snapshot' ? `snapshot ${n.snapshotFile ?? ''}` : 'live'].filter(Boolean).join(' · ')))
  if (n.note) out.push(style.dim(`note: ${n.note}`))
  if (r.focus) out.push(`focus: ${r.focus.bit !== undefined ? `bit ${r.focus.bit}` : `mask ${r.focus.mask}`}`)
  out.push('')
  out.push(`packet mark, bit 31 … bit 0:  ${r.bitmap}`)
  out.push(`                              ${'31'.padEnd(8)}${'23'.padEnd(8)}${'15'.padEnd(8)}${'7'.padEnd(7)}0`)
  out.push(`legend: ${Object.entries(r.legend).map(([k, v]) => `${k} ${v}`).join(' · ')}`)
  const subs = Object.entries(r.summary.subsystems).map(([k, v]) => `${k} ${v}`).join(', ')
  out.push(`${r.summary.usages} mark use${r.summary.usages === 1 ? '' : 's'}${subs ? ` (${subs})` : ''}; owners: ${r.summary.owners.map((o) => ownerLabel(r, o)).join(', ') || 'none'}; unattributed: ${r.summary.unattributed}`)
  const f = r.summary.findings
  out.push(`findings: ${f.high} high, ${f.medium} medium, ${f.low} low, ${f.info} info`)

  if (r.findings.length) {
    out.push('', style.bold('Findings'))
    const t = table(['severity', 'finding', 'uses'], [10, Math.max(40, columns - 30), 14])
    for (const x of r.findings) t.push([x.severity.toUpperCase(), `${x.kind}: ${x.message}`, x.usages.join(', ')])
    out.push(t.toString())
  }

  if (r.fields.length) {
    out.push('', style.bold('Fields (bits used together under one mask, with the values given to them)'))
    const t = table(['mark', 'mask', 'owner', 'value', 'meaning', 'set by · matched by', 'where'], [10, 20, 16, 12, 30, 16, Math.max(20, columns - 125)])
    for (const fl of r.fields) {
      for (const v of fl.values) t.push([fl.markKind, `${fl.hex} (${fl.bits})`, list(r, fl.owners), v.hex, v.meaning ?? '', `${v.setBy.join(',') || '-'} · ${v.matchedBy.join(',') || '-'}`, v.contexts.join(', ')])
    }
    out.push(t.toString())
  }

  out.push('', style.bold('Bits of the packet mark'))
  const bt = table(['bit', 'hex', 'set by', 'cleared by', 'matched by', 'owner'])
  for (const b of r.bits) bt.push([String(b.bit), b.hex, list(r, b.setBy), list(r, b.clearedBy), list(r, b.matchedBy), ownerLabel(r, b.owner)])
  out.push(bt.toString())

  if (r.usages.length) {
    out.push('', style.bold('Uses'))
    const ut = table(['id', 'where', 'operation', 'owner', 'evidence'], [6, 36, Math.max(30, columns - 92), 30, 10])
    for (const u of r.usages) {
      const op = [`${u.role} ${u.markKind === 'conntrack' ? 'ct mark' : 'mark'}: ${u.operation}`, u.meaning ? `= ${u.meaning.split(/[:;(]/)[0]!.trim()}` : undefined, u.uncertain ? `(uncertain: ${u.uncertain})` : undefined]
      ut.push([u.id, whereText(u), op.filter(Boolean).join('\n'), ownerText(u), u.evidence])
    }
    out.push(ut.toString())
  }

  if (r.flows.length) {
    out.push('', style.bold('Flows (a write, and the reads it reaches)'))
    for (const fl of r.flows.slice(0, 200)) out.push(`  ${fl.from} → ${fl.to}  ${fl.path}  ${fl.effect === 'decides' ? `decides it (${fl.matches ? 'matches' : 'does not match'} after)` : 'can affect it'} (${fl.bits})`)
    if (r.flows.length > 200) out.push(`  … ${r.flows.length - 200} more in --json`)
  }
  if (r.warnings.length) {
    out.push('')
    for (const w of r.warnings) out.push(style.warn(`warning: ${w.message}`))
  }
  return out.join('\n')
}
