import type {DiffReport} from '../analyses/diff/diff.js'
import type {DiffProgram} from '../analyses/diff/hooks.js'
import type {DiffStep} from '../analyses/diff/path.js'
import {hex} from '../model/mark.js'
import {printableReport} from '../util/printable.js'
import {PLAIN, type Style} from './style.js'
import {wrapText} from './text-table.js'

type Side = DiffReport['before']

function sideLine(s: Side): string {
  const from = s.source === 'snapshot' ? `snapshot ${s.snapshotFile ?? ''}` : 'live'
  return [s.label, s.kernel ? `kernel ${s.kernel}` : undefined, from, s.takenAt ? `taken ${s.takenAt}` : undefined].filter(Boolean).join(' · ')
}

function program(p: DiffProgram | undefined): string {
  if (!p) return '?'
  const name = p.attachName ?? p.name ?? `id ${p.id}`
  const also = [p.attachName && p.name ? p.name : undefined, p.tag ? `tag ${p.tag}` : undefined, `id ${p.id}`].filter(Boolean).join(', ')
  return `${name} (${also})`
}

function step(label: string, s: DiffStep | undefined): string {
  if (!s) return `${label}: (no step: its walk had ended)`
  return `${label}: ${s.n}. ${s.where ? `${s.where}  ` : ''}${s.what}  ⇒ ${s.verdict}  mark ${hex(s.mark)}  [${s.evidence}]`
}

const SIGN = {added: '+', attached: '+', appeared: '+', removed: '-', detached: '-', resolved: '-', replaced: '~', changed: '~'} as const

/**
 * `nodeinspect diff` for people: a line per change, grouped by kind (`+` added or attached, `-` removed or
 * detached, `~` replaced or changed), then the flow's first differing step and both outcomes. Computes nothing.
 */
export function renderDiff(report: DiffReport, style: Style = PLAIN, columns = 120): string {
  const r = printableReport(report) // rule text, program names, addresses: from the node, made printable
  const out: string[] = []
  const width = Math.max(60, columns)
  const push = (line: string, indent = 2) => {
    const [first = '', ...rest] = wrapText(line, width - indent)
    out.push(`${' '.repeat(indent)}${first}`, ...rest.map((l) => `${' '.repeat(indent + 4)}${l}`))
  }
  out.push(style.bold('diff'))
  out.push(`before: ${sideLine(r.before)}`)
  out.push(`after:  ${sideLine(r.after)}`)
  const s = r.summary
  const parts = [
    ['hooks', s.hooks],
    ['mark uses', s.markUses],
    ['findings', s.findings],
    ['rules', s.rules],
    ['routes', s.routes],
    ['ip rules', s.ipRules],
    ['cilium entries', s.cilium],
  ].filter(([, n]) => (n as number) > 0)
  out.push('')
  out.push(s.changes === 0 ? 'no change: the same programs, mark uses, rules, routes and ip rules' : `${s.changes} change${s.changes === 1 ? '' : 's'}: ${[...parts.map(([k, n]) => `${k} ${n}`), ...(s.pathDiffers ? ['the path'] : [])].join(', ')}`)

  if (r.hooks.length) {
    out.push('', style.bold('programs on hooks'))
    for (const h of r.hooks) {
      const what = h.change === 'replaced' ? `${program(h.before)} replaced by ${program(h.after)}` : h.change === 'attached' ? `attached ${program(h.after)}` : `detached ${program(h.before)}`
      push(`${SIGN[h.change]} ${h.device} ${h.hook}: ${what}`)
    }
  }
  const uses = [...r.markUses.removed.map((u) => ['removed', u] as const), ...r.markUses.added.map((u) => ['added', u] as const)]
  if (uses.length) {
    out.push('', style.bold('mark uses'))
    for (const [c, u] of uses) push(`${SIGN[c]} ${u.place}: ${u.operation} (${u.role}, ${u.owner ?? 'unattributed'})`)
  }
  const findings = [...r.findings.resolved.map((f) => ['resolved', f] as const), ...r.findings.appeared.map((f) => ['appeared', f] as const)]
  if (findings.length) {
    out.push('', style.bold('mark findings'))
    for (const [c, f] of findings) push(`${SIGN[c]} ${c === 'appeared' ? 'new' : 'gone'}: ${f.severity.toUpperCase()} ${f.kind}: ${f.message}`)
  }
  if (r.rules.length) {
    out.push('', style.bold('netfilter rules'))
    for (const x of r.rules) push(`${SIGN[x.change]} ${x.engine} ${x.table}/${x.chain}: ${x.rule}`)
  }
  if (r.routes.length) {
    out.push('', style.bold('routes'))
    for (const x of r.routes) push(`${SIGN[x.change]} ${x.family} table ${x.table}: ${x.route}`)
  }
  if (r.ipRules.length) {
    out.push('', style.bold('ip rules'))
    for (const x of r.ipRules) push(`${SIGN[x.change]} ${x.family} ${x.rule}`)
  }
  if (r.cilium?.length) {
    out.push('', style.bold("Cilium's entries for the flow's addresses"))
    const v = (o: Record<string, unknown> | undefined) => (o ? Object.entries(o).map(([k, x]) => `${k}=${Array.isArray(x) ? x.join(',') : String(x)}`).join(' ') : '')
    for (const c of r.cilium) push(`${SIGN[c.change]} ${c.map} ${c.key}: ${c.change === 'changed' ? `${v(c.before)} → ${v(c.after)}` : v(c.before ?? c.after)}`)
  }
  if (r.flow && r.path) {
    const f = r.flow
    out.push('', style.bold(`path of ${f.proto} ${f.src}${f.sport ? `:${f.sport}` : ''} → ${f.dst}${f.dport ? `:${f.dport}` : ''}  mark ${hex(f.mark)}`))
    if (r.path.same) push('the same, step for step')
    else if (r.path.firstDifference) {
      push(`first difference at step ${r.path.firstDifference.step}:`)
      push(step('before', r.path.firstDifference.before), 4)
      push(step('after ', r.path.firstDifference.after), 4)
    }
    push(`before: ${r.path.before.kind}${r.path.before.step ? ` (step ${r.path.before.step})` : ''}: ${r.path.before.text}`)
    push(`after:  ${r.path.after.kind}${r.path.after.step ? ` (step ${r.path.after.step})` : ''}: ${r.path.after.text}`)
  }
  if (r.unreadOnOneSide.length) {
    out.push('', style.warn('read on one side only (a change there may be the probe\'s, not the node\'s):'))
    for (const u of r.unreadOnOneSide) push(`- ${u}`)
  }
  return out.join('\n')
}
