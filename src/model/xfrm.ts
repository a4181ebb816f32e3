/** IPsec (xfrm) states and policies, as `ip xfrm` prints them. */

import type {Mark} from './mark.js'

export interface XfrmPrefix {
  address: string
  prefixLen: number
}

/** `sel src 0.0.0.0/0 dst 10.56.1.0/24 proto tcp dport 80 dev eth0`. */
export interface XfrmSelector {
  src: XfrmPrefix
  dst: XfrmPrefix
  proto?: string
  sport?: number
  dport?: number
  /** ICMP type/code (stored in sport/dport by the kernel), GRE key. */
  type?: number
  code?: number
  key?: number
  dev?: string
}

/** `src A dst B` + `proto esp spi 0x00000003 reqid 1 mode tunnel`. */
export interface XfrmId {
  src: string
  dst: string
  proto: string
  spi?: number
  reqid: number
  mode: string
}

export interface XfrmAlgorithm {
  type: 'enc' | 'auth' | 'auth-trunc' | 'aead' | 'comp'
  name: string
  /** Key length in bits when the key was printed (the key itself is dropped); absent for `<<Keys hidden>>`. */
  keyBits?: number
  keyHidden: boolean
  /** aead ICV length or auth-trunc truncation length, in bits. */
  icvBits?: number
}

export interface XfrmState extends XfrmId {
  line: number
  replayWindow?: number
  flags: string[]
  /** Packets this state applies to: `(skb->mark & mask) == value`. */
  mark?: Mark
  /** `output-mark V[/M]`: the mark set on packets after the transformation, `(mark & ~M) | (V & M)`. */
  outputMark?: Mark
  ifId?: number
  algorithms: XfrmAlgorithm[]
  encap?: {type: string; sport: number; dport: number; addr: string}
  offload?: {dev: string; dir: string}
  selector?: XfrmSelector
  securityContext?: string
}

export interface XfrmTemplate extends XfrmId {
  /** `level use` (optional template) or required (not printed without -s). */
  level: string
}

export interface XfrmPolicy {
  line: number
  selector: XfrmSelector
  dir: string
  /** A per-socket policy (`socket in`) rather than a global one (`dir in`). */
  socket: boolean
  action: string
  priority: number
  index?: number
  ptype?: string
  flags: string[]
  mark?: Mark
  ifId?: number
  templates: XfrmTemplate[]
  securityContext?: string
}
