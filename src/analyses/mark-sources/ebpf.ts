import type {AttributionSignals} from '../../knowledge/mark-owners.js'
import {markWriteEffect} from '../../bpf/mark-write-op.js'
import {hex} from '../../model/mark.js'
import type {ProgramSummary} from '../../model/program-summary.js'
import type {MarkLocation, MarkUsage} from '../mark-usage.js'
import type {AttachedProgram, MarkSource} from './source.js'
import {enrich, matchUsage, writeUsage, type UsageIds} from './usage.js'

/** Mark writes and compares inferred from one program's instructions: always `program` evidence. @internal tested directly (a test seam) */
export function usagesFromBpf(p: AttachedProgram, report: ProgramSummary, ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  const signals: AttributionSignals = p.software ? {programSoftware: p.software} : {}
  const base = (pc: number): MarkLocation => ({hooks: [...p.hooks], progId: p.progId, ...(p.progName ? {progName: p.progName} : {}), pc, place: `prog ${p.progId}${p.progName ? ` ${p.progName}` : ''} @${pc}`, showHooks: true})
  // clang may emit the same store on two paths: one use per distinct operation of a program.
  const seen = new Set<string>()
  for (const w of report.writes) {
    const key = `${w.op}|${w.value}|${w.mask}|${w.unknownBits}`
    if (seen.has(key)) continue
    seen.add(key)
    const {op} = markWriteEffect(w)
    const u = writeUsage(ids.next(), 'ebpf', op, base(w.pc), w.disasm, 'program', `skb->mark: ${w.expr}`)
    if (w.op === 'unknown' || w.unknownBits) {
      u.uncertain = `bits ${hex(w.unknownBits)} come from a value the analysis could not follow`
      u.setsBits = (u.setsBits | w.unknownBits) >>> 0
      u.clearsBits = (u.clearsBits | w.unknownBits) >>> 0
    }
    out.push(enrich(u, signals))
  }
  for (const m of report.matches) {
    if (m.kind !== 'match') continue
    const key = `match|${m.value}|${m.mask}|${m.negated}`
    if (seen.has(key)) continue
    seen.add(key)
    const u = matchUsage(ids.next(), 'ebpf', 'packet', {value: m.value, mask: m.mask}, m.negated, base(m.pc), m.disasm, `if ((skb->mark & ${hex(m.mask)}) ${m.negated ? '!=' : '=='} ${hex(m.value)})`, 'match', 'program')
    out.push(enrich(u, signals))
  }
  return out
}

/** The eBPF programs on the node's hooks, from what their instructions do to skb->mark. */
export const ebpfSource: MarkSource = {
  id: 'ebpf',
  reads: ['programs'],
  usages(facts, ids) {
    const out: MarkUsage[] = []
    for (const {program, access} of facts.programs) for (const u of usagesFromBpf(program, access, ids)) out.push(u)
    return out
  },
}
