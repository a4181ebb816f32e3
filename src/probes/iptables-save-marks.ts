import type {XtRuleset} from '../model/netfilter.js'
import {parseIptablesSave, type IptablesSaveOptions} from './iptables-save.js'
import type {Parsed} from '../model/warning.js'

/** Chain → chains it jumps or goes to, per table: the graph that says which built-in hooks reach a rule. */
export type JumpGraph = Map<string, Map<string, Set<string>>>

export interface MarkRulesDump {
  /** The dump with only its mark-related rules kept (and every table and chain), at their real lines and positions. */
  ruleset: XtRuleset
  jumps: JumpGraph
  /** Rules seen in the whole dump. */
  totalRules: number
}

// Every MARK/CONNMARK/TPROXY target and mark/connmark match spells "mark" somewhere (--set-xmark, --restore-mark,
// --tproxy-mark, -m mark, --restore-skmark, rpfilter --validmark): a rule without it cannot use the mark.
const MARKISH = /mark/i
const RULE_RE = /^(?:\[\d+:\d+\] )?-A (\S+) /
const JUMP_RE = / -([jg]) (\S+)/g

/**
 * What `marks` needs of an iptables-save dump, in one linear pass: the jump graph of every rule, and a full parse
 * of the few rules that mention a mark. On a kube-proxy-sized dump (150k lines, 110k rules, 3 mark rules) this
 * avoids building 110k rule objects: the full parse takes ~0.7 s there, this ~0.15 s.
 */
export function parseIptablesSaveForMarks(text: string, opts: IptablesSaveOptions): Parsed<MarkRulesDump> {
  const lines = text.split('\n')
  const kept: string[] = []
  const origin: Array<{line: number; position: number}> = []
  const jumps: JumpGraph = new Map()
  const positions = new Map<string, number>()
  let table = ''
  let totalRules = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const c = line.charCodeAt(0)
    if (c === 42 /* * */) {
      table = line.slice(1).trim()
      positions.clear()
      kept.push(line)
      origin.push({line: i + 1, position: 0})
      continue
    }
    const m = RULE_RE.exec(line)
    if (!m) {
      // table headers, chain declarations, COMMIT, comments, -P/-N lines: kept as they are (cheap, few).
      kept.push(line)
      origin.push({line: i + 1, position: 0})
      continue
    }
    totalRules++
    const chain = m[1]!
    const pos = (positions.get(chain) ?? 0) + 1
    positions.set(chain, pos)
    let last: string | undefined
    JUMP_RE.lastIndex = 0
    for (let j = JUMP_RE.exec(line); j; j = JUMP_RE.exec(line)) last = j[2]
    if (last !== undefined) {
      let t = jumps.get(table)
      if (!t) jumps.set(table, (t = new Map()))
      let to = t.get(chain)
      if (!to) t.set(chain, (to = new Set()))
      to.add(last.replace(/^"|"$/g, ''))
    }
    if (MARKISH.test(line)) {
      kept.push(line)
      origin.push({line: i + 1, position: pos})
    }
  }
  const parsed = parseIptablesSave(kept.join('\n'), opts)
  // Put every kept rule back at its line and position in the whole dump.
  for (const t of parsed.facts.tables) {
    if (t.line !== undefined) t.line = origin[t.line - 1]?.line ?? t.line
    for (const ch of t.chains) {
      if (ch.line !== undefined) ch.line = origin[ch.line - 1]?.line ?? ch.line
      for (const r of ch.rules) {
        const o = origin[r.line - 1]
        if (o) {
          r.line = o.line
          r.position = o.position
        }
      }
    }
  }
  for (const p of parsed.problems) if (p.line !== undefined) p.line = origin[p.line - 1]?.line ?? p.line
  return {facts: {ruleset: parsed.facts, jumps, totalRules}, problems: parsed.problems}
}

export interface Reacher {
  /** The built-in chain (`nat/PREROUTING`). */
  builtin: string
  /** Built-in first, this chain last. */
  path: string[]
}

/**
 * Built-in chains that reach `chain` through jumps, walking the graph backwards from it: cost proportional to
 * the chains above it, not to the whole table (kube-proxy's 40k chains).
 */
export function reachersOf(jumps: JumpGraph, table: string, chain: string, isBuiltin: (name: string) => boolean): Reacher[] {
  const t = jumps.get(table)
  if (!t) return []
  let reverse = reverseCache.get(t)
  if (!reverse) {
    reverse = new Map()
    for (const [from, tos] of t) {
      for (const to of tos) {
        let l = reverse.get(to)
        if (!l) reverse.set(to, (l = []))
        l.push(from)
      }
    }
    reverseCache.set(t, reverse)
  }
  const next = new Map<string, string>() // chain → the chain it jumps to on the way down to `chain`
  const seen = new Set([chain])
  const queue = [chain]
  const out: Reacher[] = []
  for (let i = 0; i < queue.length; i++) {
    const cur = queue[i]!
    for (const from of reverse.get(cur) ?? []) {
      if (seen.has(from)) continue
      seen.add(from)
      next.set(from, cur)
      if (isBuiltin(from)) {
        const path = [from]
        for (let x = from; x !== chain; ) {
          x = next.get(x)!
          path.push(x)
        }
        out.push({builtin: `${table}/${from}`, path})
      } else queue.push(from)
    }
  }
  return out
}

const reverseCache = new WeakMap<Map<string, Set<string>>, Map<string, string[]>>()
