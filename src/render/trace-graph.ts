import type {TraceReport} from '../analyses/path/trace.js'
import {endsThePacket, type PathStep} from '../model/path.js'
import {printableReport} from '../util/printable.js'

const short = (s: PathStep): string => {
  const where = [s.where.device, s.where.hook].filter(Boolean).join(' ')
  return `${s.n}. ${where ? `${where}: ` : ''}${s.what}`.slice(0, 90)
}

// A DOT quoted string ends only at an unescaped `"`; a backslash escapes the next character (and `\N`, `\G`…
// would be substituted in a label), so both are escaped; line breaks become DOT's own `\n`.
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n|\r/g, '\\n')

/** Graphviz: one cluster per node, the steps in order, the verdict on each edge. */
export function renderTraceDot(report: TraceReport): string {
  const r = printableReport(report)
  const out = ['digraph trace {', '  rankdir=TB;', '  node [shape=box, fontname="monospace", fontsize=10];', `  label="${esc(`${r.flow.proto} ${r.flow.src} → ${r.flow.dst}${r.flow.dport ? `:${r.flow.dport}` : ''}: ${r.outcome.text}`)}";`]
  const byNode = new Map<string, PathStep[]>()
  for (const s of r.steps) byNode.set(s.node, [...(byNode.get(s.node) ?? []), s])
  let i = 0
  for (const [node, steps] of byNode) {
    out.push(`  subgraph cluster_${i++} {`, `    label="${esc(node)}";`)
    for (const s of steps) out.push(`    s${s.n} [label="${esc(short(s))}\\n[${s.evidence}]"${endsThePacket(s.verdictKind) || s.kind === 'unseen' ? ', color=red' : ''}];`)
    out.push('  }')
  }
  for (let k = 1; k < r.steps.length; k++) out.push(`  s${r.steps[k - 1]!.n} -> s${r.steps[k]!.n} [label="${esc(r.steps[k - 1]!.verdict.slice(0, 40))}"];`)
  out.push('}')
  return out.join('\n')
}

/**
 * Mermaid flowchart: the same graph for Markdown. Mermaid has no escape character inside a label, so what
 * could end one or start markup (quotes, brackets, braces, `|`, `<>`, `;`, `#` entity codes, `%%` comments,
 * the backquote of a markdown string) becomes a space, and so do line breaks: a label stays one label.
 */
export function renderTraceMermaid(report: TraceReport): string {
  const r = printableReport(report)
  const m = (s: string) => s.replace(/["[\]{}()|<>;#%`]/g, ' ').replace(/\s+/g, ' ').trim()
  const out = ['flowchart TD']
  const byNode = new Map<string, PathStep[]>()
  for (const s of r.steps) byNode.set(s.node, [...(byNode.get(s.node) ?? []), s])
  let i = 0
  for (const [node, steps] of byNode) {
    out.push(`  subgraph n${i++}["${m(node)}"]`)
    for (const s of steps) out.push(`    s${s.n}["${m(short(s))} · ${s.evidence}"]`)
    out.push('  end')
  }
  for (let k = 1; k < r.steps.length; k++) out.push(`  s${r.steps[k - 1]!.n} -->|${m(r.steps[k - 1]!.verdict).slice(0, 40) || 'next'}| s${r.steps[k]!.n}`)
  out.push(`  %% outcome: ${m(r.outcome.text)}`)
  return out.join('\n')
}
