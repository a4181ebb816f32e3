import {describe, expect, it} from 'vitest'
import {renderTraceDot, renderTraceMermaid} from '../../src/render/trace-graph.js'
import {hostile, TERMINAL_CONTROL} from './hostile.js'
import {traceReport} from './trace-report.js'

// Names that try to end a label and start syntax of their own.
const breakout = (what: string) => `${what}"];\n  evil [label="pwned"];\n  x["}]) --> y{"|%%\``

describe('renderTraceDot', () => {
  it('keeps every crafted name inside its quoted label: quotes and backslashes escaped, one line per statement', () => {
    const dot = renderTraceDot(traceReport(breakout))
    expect(dot).not.toMatch(TERMINAL_CONTROL)
    const lines = dot.split('\n')
    expect(lines[0]).toBe('digraph trace {')
    expect(lines.at(-1)).toBe('}')
    // No statement of the attacker's: each line is one of ours, and every `"` inside a label is escaped.
    expect(dot).not.toMatch(/^\s*evil\b/m)
    for (const l of lines.slice(1, -1)) {
      expect(l).toMatch(/^\s*(rankdir=TB;|node \[|label="|subgraph cluster_\d+ \{|\}|s(\d+) \[id="s\2", label="|s\d+ -> s\d+ \[label=")/)
      // strip escaped characters; what is left must be whole quoted strings
      const unescaped = l.replace(/\\./g, '')
      expect((unescaped.match(/"/g) ?? []).length % 2, l).toBe(0)
    }
    // the value's own newline is shown (\x0a, its backslash escaped for DOT), its quotes escaped
    expect(dot).toContain('label="node-a\\"];\\\\x0a  evil [label=\\"pwned\\"];\\\\x0a  x[\\"}]) --> y{\\"|%%`";')
  })

  it('shows control characters as visible escapes (backslash escaped for DOT)', () => {
    const dot = renderTraceDot(traceReport(hostile))
    expect(dot).not.toMatch(TERMINAL_CONTROL)
    expect(dot).toContain('label="node-a\\\\x1b]0;owned\\\\x07')
  })
})

describe('renderTraceMermaid', () => {
  it('keeps every crafted name inside its label: no quote, bracket, brace, pipe, comment or backquote of its own', () => {
    const mmd = renderTraceMermaid(traceReport(breakout))
    expect(mmd).not.toMatch(TERMINAL_CONTROL)
    const lines = mmd.split('\n')
    expect(lines[0]).toBe('flowchart TD')
    for (const l of lines.slice(1)) {
      expect(l).toMatch(/^ {2}(subgraph n\d+\["[^"[\]{}|`%]*"\]|end|%% outcome: [^"[\]{}|`%\n]*)$|^ {4}s\d+\["[^"[\]{}|`%]*"\]$|^ {2}s\d+ -->\|[^"[\]{}|`%]*\| s\d+$/)
    }
    expect(mmd).toContain('subgraph n0["node-a \\x0a evil label= pwned \\x0a x -- y"]')
  })

  it('shows control characters as visible escapes', () => {
    const mmd = renderTraceMermaid(traceReport(hostile))
    expect(mmd).not.toMatch(TERMINAL_CONTROL)
    expect(mmd).toContain('subgraph n0["node-a\\x1b 0 owned\\x07\\x1b 2J\\x1b H\\x00\\u202e\\x9b31m\\x7f\\x0d\\x0a\\x09end"]')
  })
})

describe('both graphs classify steps by verdictKind', () => {
  it('marks the steps that end the packet by their verdict kind, whatever the verdict says', () => {
    const r = traceReport((s) => s)
    r.steps[1] = {...r.steps[1]!, verdict: 'REJECT (icmp-port-unreachable)', verdictKind: 'reject'}
    r.steps[2] = {...r.steps[2]!, verdict: 'DROP-looking text', verdictKind: 'deliver'}
    const dot = renderTraceDot(r)
    expect(dot).toMatch(/s2 \[id="s2", label="[^\n]*", shape=hexagon, style=filled, color=red, fillcolor="#fde0e0", tooltip="/)
    expect(dot).not.toMatch(/s3 \[[^\n]*color=red/)
  })
})
