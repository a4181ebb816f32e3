/**
 * SVG checks for trace --format svg (test support, pure): well-formed XML (every tag closed in order, attributes
 * quoted, entities known) and the step groups the renderer promises (id s<N>, reply r<N>) with their tooltips.
 */
import type {TraceReport} from '../../src/analyses/path/trace.js'

/** Problems with the document as XML; [] when it is well-formed. A small checker: no DTD, no namespaces checked. */
export function xmlProblems(doc: string): string[] {
  const problems: string[] = []
  const stack: string[] = []
  const re = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<!\[CDATA\[[\s\S]*?\]\]>|<\/([A-Za-z_][\w:.-]*)\s*>|<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g
  for (const m of doc.matchAll(re)) {
    const [all, close, open, , selfClose] = m
    if (all === '<') problems.push(`a "<" that starts no tag at ${m.index}`)
    else if (all.startsWith('&')) problems.push(`an unknown entity at ${m.index}`)
    else if (close) {
      const top = stack.pop()
      if (top !== close) problems.push(`</${close}> closes <${top ?? 'nothing'}> at ${m.index}`)
    } else if (open && !selfClose) stack.push(open)
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`)
  if (!/<svg[\s>]/.test(doc)) problems.push('no <svg> element')
  return problems
}

/** Every step of the report (and of its reply) as a group with its id and a tooltip naming its evidence. */
export function missingSteps(svg: string, report: TraceReport): string[] {
  const missing: string[] = []
  const check = (id: string, evidence: string) => {
    const g = new RegExp(`<g id="${id}" class="node">[\\s\\S]*?</g>\\s*</g>|<g id="${id}" class="node">[\\s\\S]*?</g>`).exec(svg)?.[0]
    if (!g) missing.push(`${id}: no group`)
    else if (!g.includes(`[${evidence}]`)) missing.push(`${id}: no [${evidence}] in its label or tooltip`)
  }
  for (const s of report.steps) check(`s${s.n}`, s.evidence)
  for (const s of report.reply?.steps ?? []) check(`r${s.n}`, s.evidence)
  return missing
}
