/**
 * The rules of an iptables chain that a lazy parse (probes/iptables-save.ts, IptablesSaveOptions.lazy) still holds
 * as lines because nothing read them yet: for a reader that needs only a few of a long chain's rules (the walk of
 * kube-proxy's 10k-rule KUBE-SERVICES, analyses/netfilter-eval/xt-walk.ts). Rule i is the one at position i + 1,
 * built alone on request, the very object the chain's `rules` holds once read.
 */
import type {XtChain, XtRule} from './netfilter.js'

/** A rule's destination as its line prints it: `-d ADDR[/SUFFIX]` (SUFFIX as printed, none without a slash), or `! -d`. */
export type PrintedDestination = {address: string; suffix: string | undefined} | 'negated'

export interface DeferredRules {
  readonly count: number
  /** Rule i's destination read off its line, where iptables prints it; undefined when only the rule can say. */
  printedDestination(i: number): PrintedDestination | undefined
  ruleAt(i: number): XtRule
}

/**
 * The fewest rules a chain must have for its lines to be built one at a time: a shorter chain is built whole when
 * first read (a walk visits most of its rules anyway), so a parse registers only the longer ones (40k chains of
 * 2–4 rules at kube-proxy scale, each registration a WeakMap entry the collector must trace).
 */
export const LONG_CHAIN_RULES = 64

type Owner = (c: XtChain) => DeferredRules | undefined

const owners = new WeakMap<XtChain, Owner>()

/** For the parser: `owner` answers for `c` (a chain of LONG_CHAIN_RULES or more) from now on. */
export function registerDeferredRules(c: XtChain, owner: Owner): void {
  owners.set(c, owner)
}

/**
 * The chain's rules as lines still to build, when it has LONG_CHAIN_RULES or more, nothing read them yet, no rule of
 * the chain was built at once and every line is a rule; else undefined (read `rules`).
 */
export function deferredRules(c: XtChain): DeferredRules | undefined {
  return owners.get(c)?.(c)
}
