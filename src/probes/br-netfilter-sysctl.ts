import {problem} from './parsed.js'
import type {BrNetfilterFacts} from '../model/node-state.js'
import type {Parsed} from '../model/warning.js'
import {probe} from './descriptor.js'

/**
 * `net.bridge.bridge-nf-call-iptables`, per netns (brnf_call_iptables in net/bridge/br_netfilter_hooks.c): 1 makes
 * bridged IPv4 frames cross iptables PREROUTING/FORWARD/POSTROUTING (docs/kernel-notes.md#kn-16-br-netfilter).
 * sysctl exits 255 when the key is absent (br_netfilter not loaded): then it is off.
 */
const BR_NF_CALL_IPTABLES_ARGV = ['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables'] as const

export const brNetfilterProbe = probe({argv: BR_NF_CALL_IPTABLES_ARGV, okExitCodes: [255]}, (t) => parseBrNetfilterSysctl(t), undefined as BrNetfilterFacts | undefined)

/** @internal tested directly (a test seam) */
export function parseBrNetfilterSysctl(text: string): Parsed<BrNetfilterFacts | undefined> {
  const t = text.trim()
  if (t === '') return {facts: {callIptables: false, present: false}, problems: []}
  if (t === '0' || t === '1') return {facts: {callIptables: t === '1', present: true}, problems: []}
  return {facts: undefined, problems: [problem('sysctl -n net.bridge.bridge-nf-call-iptables', 'expected 0 or 1', 1, t)]}
}
