import type {TraceReport} from '../analyses/path/trace.js'
import type {PathStep} from '../model/path.js'

const short = (s: PathStep): string => {
  const where = [s.where.device, s.where.hook].filter(Boolean).join(' ')
  return `${s.n}. ${where ? `${where}: ` : ''}${s.what}`.slice(0, 90)
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')

/** Graphviz: one cluster per node, the steps in order, the verdict on each edge. */
export function renderTraceDot(r: TraceReport): string {
  const out = ['digraph trace {', '  rankdir=TB;', '  node [shape=box, fontname="monospace", fontsize=10];', `  label="${esc(`${r.flow.proto} ${r.flow.src} → ${r.flow.dst}${r.flow.dport ? `:${r.flow.dport}` : ''}: ${r.outcome.text}`)}";`]
  const byNode = new Map<string, PathStep[]>()
  for (const s of r.steps) byNode.set(s.node, [...(byNode.get(s.node) ?? []), s])
  let i = 0
  for (const [node, steps] of byNode) {
    out.push(`  subgraph cluster_${i++} {`, `    label="${esc(node)}";`)
    for (const s of steps) out.push(`    s${s.n} [label="${esc(short(s))}\\n[${s.evidence}]"${s.verdict.startsWith('DROP') || s.kind === 'unseen' ? ', color=red' : ''}];`)
    out.push('  }')
  }
  for (let k = 1; k < r.steps.length; k++) out.push(`  s${r.steps[k - 1]!.n} -> s${r.steps[k]!.n} [label="${esc(r.steps[k - 1]!.verdict.slice(0, 40))}"];`)
  out.push('}')
  return out.join('\n')
}

/** Mermaid flowchart: the same graph for Markdown. */
export function renderTraceMermaid(r: TraceReport): string {
  const m = (s: string) => s.replace(/["[\]{}()|<>;#]/g, ' ').replace(/\s+/g, ' ').trim()
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
