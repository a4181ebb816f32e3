import {problem} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import {probe} from './descriptor.js'

/**
 * `ipset save`: every set and its members in restore syntax, one process, e.g.
 * `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536` / `add KUBE-CLUSTER-IP 10.96.0.1,tcp:443`.
 * Absent tool or no sets: -m set matches stay "unknown" in the evaluator, never guessed.
 */
const IPSET_SAVE_ARGV = ['ipset', 'save'] as const

export const ipsetSaveProbe = probe({argv: IPSET_SAVE_ARGV, timeoutMs: 30_000}, (t) => parseIpsetSave(t), undefined as Map<string, {type: string; members: string[]}> | undefined)

/** @internal tested directly (a test seam) */
export function parseIpsetSave(text: string): Parsed<Map<string, {type: string; members: string[]}>> {
  const facts = new Map<string, {type: string; members: string[]}>()
  const problems: ParseProblem[] = []
  text.split('\n').forEach((line, i) => {
    const t = line.trim()
    if (t === '') return
    const m = /^(create|add) (\S+) (.+)$/.exec(t)
    if (!m) return void problems.push(problem('ipset save', 'unrecognised line', i + 1, line))
    if (m[1] === 'create') facts.set(m[2]!, {type: m[3]!.split(/\s+/)[0]!, members: []})
    else {
      const set = facts.get(m[2]!)
      if (!set) return void problems.push(problem('ipset save', `member of undeclared set ${m[2]}`, i + 1, line))
      set.members.push(m[3]!)
    }
  })
  return {facts, problems}
}
