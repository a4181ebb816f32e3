/**
 * nft expressions as `nft -j` prints them, evaluated against the packet: the left side of a match or the key of a
 * lookup (payload, meta, ct, fib, concatenations, `&`/`|`/`^`), the constants and sets on the right, and named
 * or anonymous set/map lookups (kube-proxy's `ip daddr . meta l4proto . th dport vmap @service-ips`).
 *
 * Three answers: a typed value; `absent` when the kernel's expression would break the rule (a tcp port of a UDP
 * packet, `ct mark` without a conntrack entry: NFT_BREAK, no match whatever the operator); `unknown` when the
 * packet alone cannot tell.
 */
import type {NftTable} from '../../../model/netfilter.js'
import type {Walk} from '../state.js'

/** How a value compares: numbers (addresses, ports, marks, flag words) as bigints, names as strings. */
type NType = 'addr' | 'int' | 'proto' | 'ifname' | 'ctstate' | 'ctstatus' | 'tcpflags' | 'icmptype' | 'icmpv6type' | 'str' | 'fiboif'

export interface Scalar {
  type: NType
  v: bigint | string
  /** Address width, for `addr`. */
  bits?: 32 | 128
}

export type Val = Scalar | {type: 'concat'; parts: Scalar[]}

export type Eval = {val: Val; assumed?: string} | {absent: string} | {unknown: string}

export interface NftEnv {
  w: Walk
  table: NftTable
}

