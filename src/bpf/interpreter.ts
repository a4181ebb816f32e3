/**
 * The abstract interpreter: a forward interpretation over a program's xlated instructions, branches joined and
 * loops iterated to a fixpoint, then one recording pass that yields the program summary. Pure: instructions in,
 * summary out. Registers start as the ctx pointer in r1 (a `struct __sk_buff`: tc, cgroup_skb, socket filters…;
 * for other program types `markOffset` means nothing) and the frame pointer in r10.
 */
import type {XlatedInsn} from '../model/xlated.js'
import {cloneState, CTX, joinState, NREGS, OTHER, stateEq, type State, type Val} from './abstract-state.js'
import {overlaps} from './mark-projection.js'
import type {ProgramSummary} from '../model/program-summary.js'
import {finding, step, type Recorder} from './transfer.js'

export interface SummaryOptions {
  /** offsetof(struct sk_buff, mark) on the kernel the program runs on (164 on 6.18): from the BTF parser. */
  markOffset: number
  /** Give up after this many block visits (default 200 × instructions); the report then says it is incomplete. */
  maxSteps?: number
}

export function summariseProgram(insns: readonly XlatedInsn[], opts: SummaryOptions): ProgramSummary {
  const markOffset = opts.markOffset
  const n = insns.length
  const rec: Recorder = {loads: [], writes: [], matches: [], helperCalls: [], subprogramCalls: [], uncertain: [], notes: new Set()}
  const mapIds = new Set<number>()
  for (const i of insns) if (i.op.kind === 'ld-imm64' && i.op.mapId !== undefined) mapIds.add(i.op.mapId)
  const report = (): ProgramSummary => {
    const byPc = <T extends {pc: number}>(a: T[]): T[] => a.sort((x, y) => x.pc - y.pc)
    const helpers = [...new Set(rec.helperCalls.map((h) => h.helper))].sort()
    const families = [...new Set(rec.helperCalls.map((h) => h.family))].sort()
    return {
      markOffset,
      loads: byPc(rec.loads),
      writes: byPc(rec.writes),
      matches: byPc(rec.matches),
      helperCalls: byPc(rec.helperCalls),
      helpers,
      families,
      subprogramCalls: byPc(rec.subprogramCalls),
      mapIds: [...mapIds].sort((a, b) => a - b),
      uncertain: byPc(rec.uncertain),
      notes: [...rec.notes],
    }
  }
  if (n === 0) return report()

  const indexOfPc = new Map<number, number>()
  insns.forEach((insn, i) => indexOfPc.set(insn.pc, i))
  const nextPc = (i: number): number => insns[i]!.pc + (insns[i]!.op.kind === 'ld-imm64' ? 2 : 1)

  // Block leaders: the entry, jump targets, what follows a jump or exit, and function entries.
  const leader = new Array<boolean>(n).fill(false)
  const functionEntry = new Set<number>()
  leader[0] = true
  const markPc = (pc: number, from: XlatedInsn): void => {
    const j = indexOfPc.get(pc)
    if (j === undefined) rec.notes.add(`pc ${from.pc} (${from.disasm}) goes to pc ${pc}, which is not an instruction of the dump: not followed`)
    else leader[j] = true
  }
  insns.forEach((insn, i) => {
    const op = insn.op
    if (op.kind === 'jump') {
      markPc(op.target, insn)
      if (i + 1 < n) leader[i + 1] = true
    } else if (op.kind === 'exit' || op.kind === 'indirect-jump') {
      if (i + 1 < n) leader[i + 1] = true
    } else if (op.kind === 'call' && op.callee === 'subprog') {
      markPc(op.target, insn)
      functionEntry.add(op.target)
    } else if (op.kind === 'ld-imm64' && op.subprogOffset !== undefined) {
      markPc(insn.pc + op.subprogOffset + 1, insn)
      functionEntry.add(insn.pc + op.subprogOffset + 1)
    }
  })

  const entry = new Array<State | undefined>(n).fill(undefined)
  // Worklist in pc order: forward edges are handled in the same sweep, only back edges (loops) need another.
  const queued = new Array<boolean>(n).fill(false)
  let lowest = n
  const mergeInto = (pc: number, s: State): void => {
    const j = indexOfPc.get(pc)
    if (j === undefined) return
    const cur = entry[j]
    let next: State
    if (!cur) next = cloneState(s)
    else {
      next = joinState(cur, s)
      if (stateEq(next, cur)) return
    }
    entry[j] = next
    queued[j] = true
    if (j < lowest) lowest = j
  }

  const start: State = {regs: new Array<Val>(NREGS).fill(OTHER), stack: new Map()}
  start.regs[1] = CTX
  start.regs[10] = {k: 'fp', off: 0}
  mergeInto(insns[0]!.pc, start)

  /** Run one block from its entry state; with `record`, collect findings. Returns nothing: successors get merged. */
  const runBlock = (first: number, record: boolean): void => {
    const s = cloneState(entry[first]!)
    for (let i = first; i < n; i++) {
      const insn = insns[i]!
      const succ = step(s, insn, record ? rec : undefined, markOffset, mergeInto)
      if (succ === 'fallthrough') {
        const np = nextPc(i)
        const j = indexOfPc.get(np)
        if (j === undefined) {
          if (i === n - 1 || np > insns[n - 1]!.pc) rec.notes.add(`the last instruction (pc ${insn.pc}) is not an exit or jump: the dump may be cut short`)
          return
        }
        if (j !== i + 1) {
          rec.notes.add(`pc ${np} is missing from the dump (after pc ${insn.pc})`)
          return
        }
        if (leader[j]) {
          mergeInto(np, s)
          return
        }
        continue
      }
      for (const pc of succ) mergeInto(pc, s)
      return
    }
  }

  const maxSteps = opts.maxSteps ?? 200 * n + 1000
  let steps = 0
  sweep: while (lowest < n) {
    const from = lowest
    lowest = n
    for (let j = from; j < n; j++) {
      if (!queued[j]) continue
      queued[j] = false
      if (++steps > maxSteps) {
        rec.notes.add(`gave up after ${maxSteps} block visits without a fixpoint: findings may be missing`)
        break sweep
      }
      runBlock(j, false)
    }
  }

  // Final pass over the fixpoint: each reached block once, recording what it does.
  for (let j = 0; j < n; j++) if (leader[j] && entry[j]) runBlock(j, true)

  // Unreached code: count it, and keep any access at the mark's offset as uncertain rather than drop it.
  let unreached = 0
  let reached = false
  for (let j = 0; j < n; j++) {
    if (leader[j]) reached = entry[j] !== undefined
    if (reached) continue
    unreached++
    const op = insns[j]!.op
    if ((op.kind === 'load' || op.kind === 'store') && overlaps(op.off, op.size, markOffset)) {
      rec.uncertain.push({...finding(insns[j]!), access: op.kind, reason: 'not reached by the analysis (dead code or a function nothing calls)'})
    }
  }
  if (unreached > 0) rec.notes.add(`${unreached} instruction(s) not reached from the entry: not analysed`)
  return report()
}
