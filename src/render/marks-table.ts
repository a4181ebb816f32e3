import type {MarkFlow, MarkFlowGroup} from '../analyses/mark-flows.js'
import type {MarkUsage} from '../analyses/mark-usage.js'
import {UNATTRIBUTED, type MarksReport} from '../analyses/marks.js'
import {printableReport} from '../util/printable.js'
import {PLAIN, type Style} from './style.js'
import {TextTable as Table} from './text-table.js'

// A terminal is no place for 20,000 rows or a 20,000-id cell (and cli-table3, which drew these tables before
// text-table.ts, took minutes over them): the text view lists the first rows of each table and the first ids of each cell, and
// says how many more there are. --json has them all; --bit, --mask and --rule narrow the view.
const MAX_ROWS = {findings: 100, values: 100, usages: 100, flows: 100, pairs: 200}
const MAX_IDS = 6
const NARROW = 'use --json, --bit, --mask or --rule'
const NARROWER = 'narrow with --bit, --mask or --rule'

const table = (head: string[], colWidths?: number[]) =>
  new Table({head, style: {head: [], border: [], 'padding-left': 1, 'padding-right': 1}, wordWrap: true, ...(colWidths ? {colWidths} : {})})

const CHUNK = 50

/**
 * One table drawn as blocks of CHUNK rows joined seamlessly: cli-table3's layout checks every cell against the
 * cells before it (layout-manager conflictExists), so one table of n rows costs more than n/CHUNK small ones.
 * The widths are fixed, so the blocks line up; a block's top border becomes a row separator.
 */
function chunkedTable(head: string[], colWidths: number[], rows: string[][]): string {
  const parts: string[] = []
  for (let i = 0; i < rows.length || i === 0; i += CHUNK) {
    const t = i === 0 ? table(head, colWidths) : new Table({style: {head: [], border: [], 'padding-left': 1, 'padding-right': 1}, wordWrap: true, colWidths})
    for (const row of rows.slice(i, i + CHUNK)) t.push(row)
    const lines = t.toString().split('\n')
    if (i > 0) {
      parts.pop() // the previous block's bottom border
      lines[0] = lines[0]!.replace('┌', '├').replaceAll('┬', '┼').replace('┐', '┤')
    }
    for (const l of lines) parts.push(l)
  }
  return parts.join('\n')
}

type Names = Map<string, string>

function ownerNames(r: MarksReport): Names {
  const m: Names = new Map()
  for (const u of r.usages) if (u.owner && !m.has(u.owner.owner)) m.set(u.owner.owner, u.owner.ownerName)
  return m
}

function ownerLabel(names: Names, id: string | undefined): string {
  if (!id) return '-'
  if (id === UNATTRIBUTED) return 'unattributed'
  if (id === 'shared') return 'SHARED'
  return names.get(id) ?? id
}

function list(names: Names, ids: string[]): string {
  return ids.length ? ids.map((i) => ownerLabel(names, i)).join(', ') : '-'
}

/** The ids, or the first ones and how many more: `u3, u5, u9, u12, u15, u18 +997 more` (spaced: cli-table3 cuts a word wider than its cell). */
function ids(xs: readonly string[]): string {
  if (xs.length === 0) return '-'
  return xs.length <= MAX_IDS ? xs.join(', ') : `${xs.slice(0, MAX_IDS).join(', ')} +${xs.length - MAX_IDS} more`
}

function more(n: number, what: string): string {
  return `… ${n.toLocaleString('en-US')} more ${what} (${NARROW})`
}

function effectText(f: {effect: string; matches?: boolean}): string {
  return f.effect === 'decides' ? `decides it (${f.matches ? 'matches' : 'does not match'} after)` : 'can affect it'
}

function pairLine(f: MarkFlow): string {
  return `  ${f.from} → ${f.to}  ${f.path}  ${effectText(f)} (${f.bits})`
}

/** One line per group: the first pair as before, with how many uses stand behind each side; its operations under it. */
function groupLines(g: MarkFlowGroup, names: Names): string[] {
  const e = g.examples[0]!
  const side = (id: string, n: number) => (n > 1 ? `${id} and ${(n - 1).toLocaleString('en-US')} like it` : id)
  const line = `  ${side(e.from, g.from.uses)} → ${side(e.to, g.to.uses)}  ${g.path}  ${effectText(g)} (${g.bits})`
  if (g.pairs === 1) return [line]
  const vals = g.to.values.length > 1 || g.to.valuesOmitted ? ` (comparing ${g.to.values.join(', ')}${g.to.valuesOmitted ? ` +${g.to.valuesOmitted} more` : ''})` : ''
  return [`${line}: ${g.pairs.toLocaleString('en-US')} pairs`, `      ${ownerLabel(names, g.from.owner)}: ${g.from.operation} [${g.from.hooks.join(', ')}] → ${ownerLabel(names, g.to.owner)}: ${g.to.operation}${vals} [${g.to.hooks.join(', ')}]`]
}

/** The use's place, as its source wrote it, and the hooks that reach it when they say more. */
function whereText(u: MarkUsage): string {
  const w = u.where
  if (!w.showHooks || w.hooks.length === 0) return w.place
  return `${w.place}\n${w.hooks[0]!.startsWith('unreachable') ? w.hooks[0]! : `reached from ${w.hooks.join(', ')}`}`
}

function ownerText(u: MarkUsage): string {
  if (u.owner) return `${u.owner.ownerName}\n(by ${u.owner.basis} ${u.owner.matched})`
  return u.candidates?.length ? `unattributed\n(documented by: ${u.candidates.join('; ')})` : 'unattributed'
}

/**
 * The human view of a marks report: bit map, findings, fields, the bit table (the bits set or matched; all 32 with allBits), the uses, flows. Linear in
 * the report and bounded: each table shows its first rows (MAX_ROWS), then how many more.
 */
export function renderMarks(report: MarksReport, style: Style = PLAIN, columns = 120, opts: {allBits?: boolean} = {}): string {
  const r = printableReport(report) // rule comments, process names, warnings: from the node, made printable
  const out: string[] = []
  const names = ownerNames(r)
  const n = r.node
  out.push(style.bold([`node ${n.hostname ?? '?'}`, n.netns ? `netns ${n.netns}` : undefined, n.kernel ? `kernel ${n.kernel}` : undefined, n.source === 'snapshot' ? `snapshot ${n.snapshotFile ?? ''}` : 'live'].filter(Boolean).join(' · ')))
  if (n.note) out.push(style.dim(`note: ${n.note}`))
  if (r.focus) out.push(`focus: ${[r.focus.bit !== undefined ? `bit ${r.focus.bit}` : undefined, r.focus.mask !== undefined ? `mask ${r.focus.mask}` : undefined, r.focus.rule !== undefined ? `rule ${r.focus.rule}` : undefined].filter(Boolean).join(', ')}`)
  out.push('')
  out.push(`packet mark, bit 31 … bit 0:  ${r.bitmap}`)
  out.push(`                              ${'31'.padEnd(8)}${'23'.padEnd(8)}${'15'.padEnd(8)}${'7'.padEnd(7)}0`)
  out.push(`legend: ${Object.entries(r.legend).map(([k, v]) => `${k} ${v}`).join(' · ')}`)
  const subs = Object.entries(r.summary.subsystems).map(([k, v]) => `${k} ${v}`).join(', ')
  out.push(`${r.summary.usages} mark use${r.summary.usages === 1 ? '' : 's'}${subs ? ` (${subs})` : ''}; owners: ${r.summary.owners.map((o) => ownerLabel(names, o)).join(', ') || 'none'}; unattributed: ${r.summary.unattributed}`)
  const f = r.summary.findings
  out.push(`findings: ${f.high} high, ${f.medium} medium, ${f.low} low, ${f.info} info`)

  if (r.findings.length) {
    out.push('', style.bold('Findings'))
    const rows = r.findings.slice(0, MAX_ROWS.findings).map((x) => [x.severity.toUpperCase(), `${x.kind}: ${x.message}`, ids(x.usages)])
    out.push(chunkedTable(['severity', 'finding', 'uses'], [10, Math.max(40, columns - 30), 14], rows))
    if (r.findings.length > MAX_ROWS.findings) out.push(more(r.findings.length - MAX_ROWS.findings, 'findings'))
  }

  if (r.fields.length) {
    out.push('', style.bold('Fields (bits used together under one mask, with the values given to them)'))
    const rows: string[][] = []
    let skipped = 0
    for (const fl of r.fields) {
      for (const v of fl.values) {
        if (rows.length >= MAX_ROWS.values) {
          skipped++
          continue
        }
        const where = v.contexts.length > MAX_IDS ? `${v.contexts.slice(0, MAX_IDS).join(', ')} +${v.contexts.length - MAX_IDS} more` : v.contexts.join(', ')
        rows.push([fl.markKind, `${fl.hex} (${fl.bits})`, list(names, fl.owners), v.hex, v.meaning ?? '', `${ids(v.setBy)} · ${ids(v.matchedBy)}`, where])
      }
    }
    out.push(chunkedTable(['mark', 'mask', 'owner', 'value', 'meaning', 'set by · matched by', 'where'], [10, 20, 16, 12, 30, 16, Math.max(20, columns - 125)], rows))
    if (skipped) out.push(more(skipped, 'field values'))
  }

  // Most nodes use a few bits: the other rows are dashes (26 of 32 on a kube-proxy node), or only name the
  // whole-mark writers that clear every bit. A bit is in use when something sets or matches it; --all-bits shows
  // all 32 (the bit map above shows every bit anyway).
  const inUse = r.bits.filter((b) => opts.allBits || b.setBy.length || b.matchedBy.length || b.owner)
  const unused = r.bits.length - inUse.length
  out.push('', style.bold(opts.allBits ? 'Bits of the packet mark' : `Bits of the packet mark set or matched (${inUse.length} of ${r.bits.length}${unused ? '; --all-bits lists the others' : ''})`))
  if (inUse.length) {
    const bt = table(['bit', 'hex', 'set by', 'cleared by', 'matched by', 'owner'])
    for (const b of inUse) bt.push([String(b.bit), b.hex, list(names, b.setBy), list(names, b.clearedBy), list(names, b.matchedBy), ownerLabel(names, b.owner)])
    out.push(bt.toString())
  } else out.push('  no bit is set, cleared or matched')

  if (r.usages.length) {
    out.push('', style.bold('Uses'))
    const rows = r.usages.slice(0, MAX_ROWS.usages).map((u) => {
      const op = [`${u.role} ${u.markKind === 'conntrack' ? 'ct mark' : 'mark'}: ${u.operation}`, u.meaning ? `= ${u.meaning.split(/[:;(]/)[0]!.trim()}` : undefined, u.uncertain ? `(uncertain: ${u.uncertain})` : undefined]
      return [u.id, whereText(u), op.filter(Boolean).join('\n'), ownerText(u), u.evidence]
    })
    out.push(chunkedTable(['id', 'where', 'operation', 'owner', 'evidence'], [6, 36, Math.max(30, columns - 92), 30, 10], rows))
    if (r.usages.length > MAX_ROWS.usages) out.push(more(r.usages.length - MAX_ROWS.usages, 'uses'))
  }

  if (r.flows.length) {
    const fs = r.summary.flows
    const grouped = fs.pairs > fs.groups ? ` (${fs.pairs.toLocaleString('en-US')} write → read pairs in ${fs.groups.toLocaleString('en-US')} groups of alike uses; --flows lists the pairs)` : ''
    out.push('', style.bold(`Flows (a write, and the reads it reaches)${grouped}`))
    for (const g of r.flows.slice(0, MAX_ROWS.flows)) for (const l of groupLines(g, names)) out.push(l)
    if (r.flows.length > MAX_ROWS.flows) out.push(more(r.flows.length - MAX_ROWS.flows, 'flow groups'))
    if (r.flowsOmitted) out.push(`… ${r.flowsOmitted.groups.toLocaleString('en-US')} more flow groups (${r.flowsOmitted.pairs.toLocaleString('en-US')} pairs) not listed even in --json (${NARROWER})`)
  }
  // When every group is one pair, the groups above are the pairs already.
  if (r.flowPairs && (r.summary.flows.pairs > r.summary.flows.groups || r.flowsOmitted)) {
    const total = r.flowPairs.length + (r.flowPairsOmitted ?? 0)
    out.push('', style.bold(`Flow pairs (${total.toLocaleString('en-US')})`))
    for (const f of r.flowPairs.slice(0, MAX_ROWS.pairs)) out.push(pairLine(f))
    const hidden = r.flowPairs.length - Math.min(r.flowPairs.length, MAX_ROWS.pairs)
    if (hidden || r.flowPairsOmitted) out.push(`… ${(total - Math.min(r.flowPairs.length, MAX_ROWS.pairs)).toLocaleString('en-US')} more pairs (${hidden ? `--json lists ${hidden.toLocaleString('en-US')} more` : ''}${hidden && r.flowPairsOmitted ? '; ' : ''}${r.flowPairsOmitted ? `${r.flowPairsOmitted.toLocaleString('en-US')} not listed even there: ${NARROWER}` : ''})`)
  }
  if (r.warnings.length) {
    out.push('')
    for (const w of r.warnings) out.push(style.warn(`warning: ${w.message}`))
  }
  return out.join('\n')
}
