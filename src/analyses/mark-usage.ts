import type {Attribution} from '../knowledge/mark-owners.js'
import {FULL_MASK, hex, type MarkOp} from '../model/mark.js'

/** Where a mark use was found. */
export type MarkSubsystem = 'iptables' | 'ip6tables' | 'iptables-legacy' | 'ip6tables-legacy' | 'nft' | 'ip-rule' | 'tc' | 'xfrm' | 'socket' | 'ebpf'

/**
 * What a use does with the mark: `set` writes bits (set, clear, or both), `match` compares them, `route`
 * selects a policy-routing rule by them, `save`/`restore` copy between the packet mark and the connection's,
 * `lookup` feeds them to a lookup whose outcome the rules cannot show (rpfilter --validmark, xfrm selectors).
 */
type MarkRole = 'set' | 'match' | 'route' | 'save' | 'restore' | 'lookup'

/** How the use is known: a rule read from the node (`rule`), the kernel's own state (`kernel`), or inferred from a program's instructions (`program`). */
type MarkEvidence = 'rule' | 'kernel' | 'program'

export interface MarkLocation {
  table?: string
  chain?: string
  /** 1-based position in its chain. */
  position?: number
  /** Line in the dump it came from. */
  line?: number
  /** Built-in hooks that reach it: `mangle/PREROUTING`, `ip filter/input`, `tc ingress lxc123`, `ip rule`. */
  hooks: string[]
  device?: string
  direction?: 'ingress' | 'egress'
  progId?: number
  progName?: string
  /** Instruction index in the program. */
  pc?: number
  /** ip rule priority. */
  priority?: number
  /** ip rule: the table or action it selects. */
  selects?: string
  /** xfrm: state/policy selector; socket: local/peer addresses. */
  detail?: string
  /** Owning process of a socket. */
  process?: string
  /**
   * The location as people read it, written by the source that found the use: `iptables nat KUBE-SVC-X #3`,
   * `ip rule pref 9`, `prog 77 cil_from_container @9`, `tailscaled: 2 sockets, e.g. …`.
   */
  place: string
  /** Whether `hooks` says more than `place` (a rule in a user chain, a program on devices): shown under it as `reached from …`. */
  showHooks: boolean
}

/** One place on the node that sets, clears, compares or routes on mark bits. */
export interface MarkUsage {
  id: string
  subsystem: MarkSubsystem
  /** The packet mark (skb->mark) or the connection's (ct->mark). */
  markKind: 'packet' | 'conntrack'
  role: MarkRole
  /** The operation as people write it: `--set-xmark 0x4000/0x4000`, `-m mark --mark 0x200/0xf00`, `fwmark 0x200/0xf00 lookup 2004`. */
  operation: string
  /** match/route: compared value; set: the value written within `mask`. */
  value: number
  /** match/route: bits compared; set: bits the operation may change. */
  mask: number
  /** Bits it may turn on, turn off, and read. */
  setsBits: number
  clearsBits: number
  readsBits: number
  /** `whole`: writes or compares all 32 bits (clobbers every other user). */
  style: 'whole' | 'bitwise'
  negated?: boolean
  /** save/restore: the copy masks. */
  copy?: {nfmask: number; ctmask: number}
  where: MarkLocation
  /** The rule or instruction as the node printed it. */
  raw?: string
  owner?: Attribution
  /** Owners that document this value/mask, when no chain, comment or table names one (not an attribution). */
  candidates?: string[]
  /** What the owner's sources say this value means. */
  meaning?: string
  meaningSource?: string
  evidence: MarkEvidence
  /** Parts the reader could not fold (an nft map lookup, a program's computed value). */
  uncertain?: string
}

/** The bits a MarkOp turns on, turns off, and reads, for one mark word. */
export function opBits(op: MarkOp): {sets: number; clears: number; value: number; mask: number; whole: boolean} {
  switch (op.kind) {
    case 'set':
      return {sets: op.value >>> 0, clears: ~op.value >>> 0, value: op.value >>> 0, mask: FULL_MASK, whole: true}
    case 'set-xmark': {
      // (mark & ~mask) ^ value: bits of value become 1 inside mask (and flip outside it), mask bits not in value become 0.
      // Value bits outside the mask flip (`--xor-mark V` is saved as V/0x0): they may turn on or off.
      const whole = (op.mask >>> 0) === FULL_MASK
      return {sets: op.value >>> 0, clears: ((op.mask & ~op.value) | (op.value & ~op.mask)) >>> 0, value: op.value >>> 0, mask: (op.mask | op.value) >>> 0, whole}
    }
    case 'set-mark':
      return {sets: op.value >>> 0, clears: (op.mask & ~op.value) >>> 0, value: op.value >>> 0, mask: (op.mask | op.value) >>> 0, whole: (op.mask >>> 0) === FULL_MASK}
    case 'or':
      return {sets: op.value >>> 0, clears: 0, value: op.value >>> 0, mask: op.value >>> 0, whole: false}
    case 'and':
      return {sets: 0, clears: ~op.value >>> 0, value: 0, mask: ~op.value >>> 0, whole: false}
    case 'xor':
      return {sets: op.value >>> 0, clears: op.value >>> 0, value: op.value >>> 0, mask: op.value >>> 0, whole: false}
    case 'bitwise': {
      if (op.source === op.target) {
        // (m & and) ^ xor on the same word: cleared where and=0 (unless xor sets it), set where xor=1.
        const changed = (~op.and | op.xor) >>> 0
        return {sets: op.xor >>> 0, clears: (~op.and & ~op.xor) >>> 0, value: op.xor >>> 0, mask: changed, whole: changed === FULL_MASK}
      }
      // From the other mark or a constant: every bit is rewritten.
      return {sets: op.source === 'none' ? op.xor >>> 0 : ((op.and | op.xor) >>> 0), clears: FULL_MASK, value: op.xor >>> 0, mask: FULL_MASK, whole: true}
    }
    case 'save':
      return {sets: op.nfmask >>> 0, clears: op.ctmask >>> 0, value: 0, mask: (op.ctmask | op.nfmask) >>> 0, whole: (op.ctmask >>> 0) === FULL_MASK}
    case 'restore':
      return {sets: op.ctmask >>> 0, clears: op.nfmask >>> 0, value: 0, mask: (op.nfmask | op.ctmask) >>> 0, whole: (op.nfmask >>> 0) === FULL_MASK}
    case 'from-socket':
      return {sets: FULL_MASK, clears: FULL_MASK, value: 0, mask: FULL_MASK, whole: true}
  }
}

/** `unattributed` for uses no signal ties to a known owner. */
export const UNATTRIBUTED = 'unattributed'

export const ownerOf = (u: MarkUsage): string => u.owner?.owner ?? UNATTRIBUTED

/** `0x200/0xf00`, or `0x539` when the mask is the whole word. */
export function markText(value: number, mask: number): string {
  return (mask >>> 0) === FULL_MASK ? hex(value) : `${hex(value)}/${hex(mask)}`
}

function bitsOf(mask: number): number[] {
  const out: number[] = []
  for (let b = 0; b < 32; b++) if ((mask >>> b) & 1) out.push(b)
  return out
}

export function popcount(mask: number): number {
  let n = 0
  let m = mask >>> 0
  while (m) {
    m &= m - 1
    n++
  }
  return n
}

/** "bits 8-11", "bit 14", "bits 0-31", "bits 4,6,9". */
export function bitRange(mask: number): string {
  const bs = bitsOf(mask)
  if (bs.length === 0) return 'no bits'
  if (bs.length === 1) return `bit ${bs[0]}`
  const contiguous = bs[bs.length - 1]! - bs[0]! + 1 === bs.length
  return contiguous ? `bits ${bs[0]}-${bs[bs.length - 1]}` : `bits ${bs.join(',')}`
}
