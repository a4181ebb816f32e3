/**
 * The state one evaluation carries through every table at the hook: the packet as rules rewrite it, what was
 * seen (trail, branches) and what could not be known (unknowns, notes).
 */
import type {Hook} from '../../model/netfilter.js'
import {protocolNumber} from '../../knowledge/protocols.js'
import {parseIp, type Ip} from './addr.js'
import type {Branch, EvalContext, NatChange, PacketState, RuleHit} from './types.js'

/** How one base chain ended. */
export interface ChainOutcome {
  verdict: 'accept' | 'drop' | 'reject' | 'queue' | 'unknown'
  /** The rule or policy that ended it. */
  by?: RuleHit
  /** For TableResult.verdict: 'ACCEPT', 'DROP (policy)', 'UNKNOWN: …'. */
  text: string
}

/** A hard bound on rules visited in one evaluation: the kernel refuses loops at load time, a bad dump might not. */
export const MAX_STEPS = 1_000_000
/** Deeper than any real ruleset; iptables' own jump stack is as deep as the number of chains. */
export const MAX_DEPTH = 256

export class Walk {
  readonly pkt: PacketState
  readonly local: Ip[]
  readonly trail: RuleHit[] = []
  readonly branches: Branch[] = []
  readonly unknowns: string[] = []
  readonly notes: string[] = []
  nat?: NatChange
  /**
   * The nat core calls nat chains until one sets up a binding for this hook's manip type (nf_nat_inet_fn:
   * `if (nf_nat_initialized(ct, maniptype)) goto do_nat`): later nat chains at the hook do not run.
   */
  natBoundBy?: RuleHit
  /** Statistic rules whose outcome a branch point decided (rule object → matches or not). */
  readonly forced = new Map<object, boolean>()
  steps = 0
  /** Rules examined (matched or not), for HookResult.rulesVisited. */
  rulesVisited = 0
  private readonly seen = new Set<string>()

  constructor(
    readonly ctx: EvalContext,
    pkt: PacketState,
  ) {
    this.pkt = {...pkt, ...(pkt.ct ? {ct: {...pkt.ct}} : {})}
    this.local = []
    for (const a of ctx.localAddresses) {
      const ip = parseIp(a)
      if (ip) this.local.push(ip)
      else this.unknown(`localAddresses: "${a}" is not an address: ignored`)
    }
  }

  get hook(): Hook {
    return this.ctx.hook
  }

  /** Record something that could not be evaluated, once per distinct message. */
  unknown(msg: string): void {
    if (this.seen.has(msg)) return
    this.seen.add(msg)
    this.unknowns.push(msg)
  }

  note(msg: string): void {
    if (!this.notes.includes(msg)) this.notes.push(msg)
  }

  get untracked(): boolean {
    return this.pkt.ct?.untracked === true
  }

  setCt(key: 'dnat' | 'snat' | 'untracked'): void {
    this.pkt.ct = {...(this.pkt.ct ?? {}), [key]: true}
  }

  /** Which alternative to take at a branch point with `count` alternatives (ctx.branch, clamped). */
  pickBranch(count: number, where: string): number {
    const want = this.ctx.branch ?? 0
    if (want < count) return Math.max(0, want)
    this.unknown(`${where}: branch ${want} asked for, but it has ${count} alternative${count === 1 ? '' : 's'}: took the last`)
    return count - 1
  }
}

/** Hooks where the packet has an input / output device (the kernel passes NULL at the others). */
function hookHasIif(hook: Hook): boolean {
  return hook === 'prerouting' || hook === 'input' || hook === 'forward'
}

function hookHasOif(hook: Hook): boolean {
  return hook === 'forward' || hook === 'output' || hook === 'postrouting'
}

/**
 * The device name a match sees: '' where the hook has none (iptables compares against an empty name, nft's
 * iifname/oifname load an empty string), undefined when the hook has one but the caller did not say which.
 */
export function deviceAt(w: Walk, which: 'iif' | 'oif'): string | undefined {
  const has = which === 'iif' ? hookHasIif(w.hook) : hookHasOif(w.hook)
  if (!has) return ''
  return w.pkt[which]
}

/** Destination NAT happens at prerouting/output, source NAT at postrouting/input (nf_nat_hook's maniptype). */
export function natKindOfHook(hook: Hook): 'dst' | 'src' | undefined {
  if (hook === 'prerouting' || hook === 'output') return 'dst'
  if (hook === 'postrouting' || hook === 'input') return 'src'
  return undefined
}

/** The number of a protocol as a rule or the packet names it (knowledge/protocols.ts: every name iptables-save and nft print). */
export function protoNumber(p: string | number): number | undefined {
  return typeof p === 'number' ? p : protocolNumber(p)
}

/** Protocols with ports at the usual offsets (th sport/dport, -m multiport). */
export function protoHasPorts(p: string): boolean {
  const n = protoNumber(p)
  return n === 6 || n === 17 || n === 132 || n === 136 || n === 33
}
