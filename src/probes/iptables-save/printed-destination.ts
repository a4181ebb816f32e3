/**
 * A rule's destination read off its line as iptables prints it, without tokenizing: `-A CHAIN [[!] -s ADDR] [!] -d
 * ADDR …`. iptables-save and `iptables -S` print the source and destination first, before the interfaces, the
 * protocol and every extension (iptables 1.8 `save_ipv4_addr()` before `save_rule_details()`; iptables-nft the same
 * through `nft_ipv4_save_rule()`), so nothing quoted can come before them. What the walk of a long chain needs to
 * build only the rules a destination can match (netfilter-eval/xt-walk.ts): kube-proxy's KUBE-SERVICES has one
 * `-d CLUSTER-IP/32` rule per Service port, 10k at 110k rules.
 */
import type {PrintedDestination} from '../../model/deferred-rules.js'

/**
 * The destination of `-A CHAIN` line as printed there, or undefined when the line is not in that form, or has no
 * `-d` where iptables prints it: then only the rule, built, can say (a hand-written line may put `-d` anywhere).
 */
export function printedDestination(line: string): PrintedDestination | undefined {
  if (!line.startsWith('-A ')) return undefined
  let at = line.indexOf(' ', 3) + 1
  if (at === 0) return undefined
  // [! ]-s ADDR
  let neg = line.startsWith('! ', at)
  if (line.startsWith('-s ', neg ? at + 2 : at)) {
    const end = line.indexOf(' ', (neg ? at + 2 : at) + 3)
    if (end === -1) return undefined
    at = end + 1
    neg = line.startsWith('! ', at)
  }
  const d = neg ? at + 2 : at
  if (!line.startsWith('-d ', d)) return undefined
  if (neg) return 'negated'
  let end = line.indexOf(' ', d + 3)
  if (end === -1) end = line.length
  const word = line.slice(d + 3, end)
  // A word with a quote, a tab or a negation inside is not what iptables prints: the rule decides.
  if (word === '' || word.includes('"') || word.includes('\t') || word.startsWith('!')) return undefined
  const slash = word.indexOf('/')
  return slash === -1 ? {address: word, suffix: undefined} : {address: word.slice(0, slash), suffix: word.slice(slash + 1)}
}
