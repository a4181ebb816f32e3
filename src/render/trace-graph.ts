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

/**
 * A step's look, the same in DOT and SVG: eBPF programs are rounded boxes, netfilter hooks hexagons, routing
 * ellipses, L2 (bridge, macvlan) parallelograms, tunnels and wires boxes with a double border (peripheries=2);
 * a step that ends the packet (a drop, a reject, no route) or that nodeinspect could not see is red and filled.
 */
function stepShape(s: PathStep): string {
  const shape =
    s.kind === 'bpf' || s.kind === 'tail-call'
      ? 'shape=box, style="rounded"'
      : s.kind === 'netfilter'
        ? 'shape=hexagon'
        : s.kind === 'routing' || s.kind === 'pod-route'
          ? 'shape=ellipse'
          : s.kind === 'bridge' || s.kind === 'macvlan'
            ? 'shape=parallelogram'
            : s.kind === 'encap' || s.kind === 'decap' || s.kind === 'wire'
              ? 'shape=box, peripheries=2'
              : 'shape=box'
  const bad = endsThePacket(s.verdictKind) || s.kind === 'unseen'
  return bad ? `${shape.replace('style="rounded"', 'style="rounded,filled"')}${shape.includes('style=') ? '' : ', style=filled'}, color=red, fillcolor="#fde0e0"` : shape
}

/** The evidence and what stands behind the step, for a viewer's tooltip (SVG: the node's link title). */
const tooltip = (s: PathStep) => [`${s.n}. ${s.what}`, `⇒ ${s.verdict}  [${s.evidence}]`, ...s.details.slice(0, 12)].join('\n')

/** Graphviz: one cluster per node, the steps in order (id s<N>, reply r<N>), the verdict on each edge. */
export function renderTraceDot(report: TraceReport): string {
  const r = printableReport(report)
  const out = ['digraph trace {', '  rankdir=TB;', '  node [shape=box, fontname="monospace", fontsize=10];', `  label="${esc(`${r.flow.proto} ${r.flow.src} → ${r.flow.dst}${r.flow.dport ? `:${r.flow.dport}` : ''}: ${r.outcome.text}`)}";`]
  let i = 0
  const direction = (steps: PathStep[], id: string, title: string) => {
    const byNode = new Map<string, PathStep[]>()
    for (const s of steps) byNode.set(s.node, [...(byNode.get(s.node) ?? []), s])
    for (const [node, ofNode] of byNode) {
      out.push(`  subgraph cluster_${i++} {`, `    label="${esc(`${title}${node}`)}";`)
      for (const s of ofNode) out.push(`    ${id}${s.n} [id="${id}${s.n}", label="${esc(short(s))}\\n[${s.evidence}]", ${stepShape(s)}, tooltip="${esc(tooltip(s))}"];`)
      out.push('  }')
    }
    for (let k = 1; k < steps.length; k++) out.push(`  ${id}${steps[k - 1]!.n} -> ${id}${steps[k]!.n} [label="${esc(steps[k - 1]!.verdict.slice(0, 40))}"];`)
  }
  direction(r.steps, 's', '')
  // The reply: its own clusters (r1, r2…), joined to the forward path's last step, its outcome on its last step.
  if (r.reply) {
    direction(r.reply.steps, 'r', 'reply · ')
    const last = r.steps[r.steps.length - 1]
    const first = r.reply.steps[0]
    if (last && first) out.push(`  s${last.n} -> r${first.n} [label="reply", style=dashed];`)
    out.push(`  reply_outcome [shape=note, label="${esc(r.reply.outcome.text)}"${r.reply.outcome.kind === 'delivered' || r.reply.outcome.kind === 'local' ? '' : ', color=red'}];`)
    const end = r.reply.steps[r.reply.steps.length - 1]
    if (end) out.push(`  r${end.n} -> reply_outcome;`)
  }
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
  let i = 0
  const direction = (steps: PathStep[], id: string, title: string) => {
    const byNode = new Map<string, PathStep[]>()
    for (const s of steps) byNode.set(s.node, [...(byNode.get(s.node) ?? []), s])
    for (const [node, ofNode] of byNode) {
      out.push(`  subgraph n${i++}["${m(`${title}${node}`)}"]`)
      for (const s of ofNode) out.push(`    ${id}${s.n}["${m(short(s))} · ${s.evidence}"]`)
      out.push('  end')
    }
    for (let k = 1; k < steps.length; k++) out.push(`  ${id}${steps[k - 1]!.n} -->|${m(steps[k - 1]!.verdict).slice(0, 40) || 'next'}| ${id}${steps[k]!.n}`)
  }
  direction(r.steps, 's', '')
  out.push(`  %% outcome: ${m(r.outcome.text)}`)
  if (r.reply) {
    direction(r.reply.steps, 'r', 'reply · ')
    const last = r.steps[r.steps.length - 1]
    const first = r.reply.steps[0]
    if (last && first) out.push(`  s${last.n} -.->|reply| r${first.n}`)
    out.push(`  %% reply: ${m(r.reply.outcome.text)}`)
  }
  return out.join('\n')
}
