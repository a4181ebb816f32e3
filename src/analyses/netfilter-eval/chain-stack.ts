/**
 * The jump stack both engines share, as ipt_do_table and nft_do_chain keep it: rules of a chain in order, a jump
 * pushes a return point, a goto replaces the current chain, a return (or the end of a non-base chain) pops, and
 * with the stack empty the base chain's policy decides. What a rule means is the engine's; the stack is this.
 */
import {MAX_DEPTH, MAX_STEPS, type ChainOutcome, type Walk} from './state.js'
import type {RuleHit} from './types.js'

/** What one rule did to the traversal. */
export type StackMove<C> =
  /** No verdict (it did not match, or it only counted, marked, logged): the next rule. */
  | {kind: 'next'}
  | {kind: 'return'}
  /** `by`: the rule that jumped (named when the stack is too deep). */
  | {kind: 'jump'; chain: C; by?: RuleHit}
  | {kind: 'goto'; chain: C}
  /** A verdict that ends the base chain. */
  | {kind: 'end'; outcome: ChainOutcome}

export interface ChainStackWalk<C, R> {
  /** The base chain. */
  base: C
  /** The rules of a chain in the order the walk visits them; each call a fresh cursor (undefined: the end). */
  rules(chain: C): () => R | undefined
  run(chain: C, rule: R): StackMove<C>
  /** The base chain's policy, recorded where the engine records it. */
  policy(): ChainOutcome
}

interface Frame<C, R> {
  chain: C
  next: () => R | undefined
}

export function walkChainStack<C, R>(w: Walk, spec: ChainStackWalk<C, R>): ChainOutcome {
  const frame = (chain: C): Frame<C, R> => ({chain, next: spec.rules(chain)})
  const frames: Array<Frame<C, R>> = [frame(spec.base)]
  for (;;) {
    if (++w.steps > MAX_STEPS) return {verdict: 'unknown', text: `UNKNOWN: more than ${MAX_STEPS} rules visited (a loop?)`}
    const f = frames[frames.length - 1]!
    const rule = f.next()
    if (rule === undefined) {
      // End of a chain: a regular chain returns to its caller, the base chain (or one reached from it only by
      // gotos) ends in the base chain's policy.
      if (frames.length === 1) return spec.policy()
      frames.pop()
      continue
    }
    w.rulesVisited++
    const m = spec.run(f.chain, rule)
    switch (m.kind) {
      case 'next':
        continue
      case 'return':
        if (frames.length === 1) return spec.policy()
        frames.pop()
        continue
      case 'goto':
        frames[frames.length - 1] = frame(m.chain)
        continue
      case 'jump':
        if (frames.length >= MAX_DEPTH) return {verdict: 'unknown', ...(m.by ? {by: m.by} : {}), text: `UNKNOWN: jumps nested deeper than ${MAX_DEPTH}`}
        frames.push(frame(m.chain))
        continue
      case 'end':
        return m.outcome
    }
  }
}

