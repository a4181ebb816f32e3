import {describe, expect, it} from 'vitest'
import {renderTraceTree} from '../../src/render/trace-tree.js'
import {hostile, TERMINAL_CONTROL} from './hostile.js'
import {traceReport} from './trace-report.js'
import type {PathStep} from '../../src/model/path.js'

describe('renderTraceTree with names from a hostile node', () => {
  it('shows control characters in node names, devices, rules, details and warnings as visible escapes', () => {
    const r = traceReport(hostile)
    const text = renderTraceTree(r, 400)
    expect(text).not.toMatch(TERMINAL_CONTROL)
    expect(text).not.toContain('\t')
    const shown = (what: string) => `${what}\\x1b]0;owned\\x07\\x1b[2J\\x1b[H\\x00\\u202e\\x9b31m\\x7f\\x0d\\x0a\\x09end`
    for (const what of ['node-a', 'host-a', 'lxc1', 'bpf_lxc.o: from-container', 'cilium_ipcache: 10.42.0.51/32', 'branch', '-A KUBE-FORWARD -m comment --comment "x"', 'delivered to pod', 'unseen thing', 'bpftool said']) {
      expect(text).toContain(shown(what))
    }
    expect(r.nodes[0]!.label).toBe(hostile('node-a')) // --json keeps the true string
  })

  it('renders a 72,000-character rule in well under 2 s, shortened with its length', () => {
    const r = traceReport((s) => s)
    r.steps[1]!.rules![0]!.raw = `-A X ${'r'.repeat(72_000)}`
    const t0 = performance.now()
    const text = renderTraceTree(r, 120)
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(text).toContain('(72,005 chars)')
  })

  it('shows the mark bits a program left unknown, and colours by verdict kind, not by the verdict text', () => {
    const r = traceReport((s) => s)
    r.steps[0]!.mark = 0x100
    r.steps[0]!.markUnknown = 0xfeff
    expect(renderTraceTree(r, 200)).toContain('packet now: tcp 10.42.1.80:40000 → 10.42.0.51:80  mark 0x100 (bits 0xfeff unknown)')
  })

  it('folds a run of hooks no rule decided into one line, and lists each table of a deciding hook in order', () => {
    const r = traceReport((s) => s)
    const hook = (n: number, h: string, extra: Partial<PathStep> = {}): PathStep => ({n, node: 'node-b', where: {hook: `netfilter ${h}`, device: 'eth0'}, kind: 'netfilter', what: 'no rule matched: policy ACCEPT', verdict: 'ACCEPT', verdictKind: 'accept', tuple: r.steps[0]!.tuple, mark: 0, ct: {state: 'NEW', zone: 0, mark: 0}, evidence: 'rule', details: [], tables: [{engine: 'iptables', table: 'filter', chain: h.toUpperCase(), priority: 0, verdict: 'ACCEPT (policy)'}], ...extra})
    const deciding = hook(6, 'input', {what: 'filter/INPUT #1: ACCEPT', tables: [{engine: 'iptables', table: 'raw', chain: 'PREROUTING', priority: -300, verdict: 'ACCEPT (policy)'}, {engine: 'nft', table: 'inet fw', chain: 'in', priority: 10, verdict: 'ACCEPT', decidedBy: 'inet fw/in #1: ACCEPT'}]})
    r.steps = [...r.steps.slice(0, 2), {...r.steps[2]!, n: 3, ct: {state: 'NEW', zone: 0, mark: 0}}, hook(4, 'prerouting'), hook(5, 'forward', {rules: [{engine: 'iptables', table: 'filter', chain: 'FORWARD', position: 1, raw: '-A FORWARD -j KUBE-FORWARD', action: 'jump KUBE-FORWARD'}]}), deciding]
    const text = renderTraceTree(r, 200)
    expect(text).toContain('  4–5. netfilter prerouting (eth0) · forward (eth0)  no rule decided  ⇒ ACCEPT  [rule]')
    expect(text).toContain('  6. eth0 · netfilter input  filter/INPUT #1: ACCEPT  ⇒ ACCEPT  [rule]')
    expect(text).toContain('├─ raw/PREROUTING (priority -300): ACCEPT (policy)')
    expect(text).toContain('└─ nft inet fw/in (priority 10): ACCEPT — inet fw/in #1: ACCEPT')
  })
})
