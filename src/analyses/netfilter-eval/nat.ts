/**
 * DNAT / SNAT / MASQUERADE / REDIRECT, for both engines: which tuple field changes, to what, and what is only
 * known to the kernel at run time (a pick from a range, MASQUERADE's address, REDIRECT's interface address).
 */
import {formatAddrPort, parseIp} from './addr.js'
import {natKindOfHook, type Walk} from './state.js'
import type {NatChange, RuleHit} from './types.js'

export interface NatSpec {
  kind: NatChange['kind']
  addrFrom?: string
  addrTo?: string
  portFrom?: number
  portTo?: number
  /** --random / --random-fully / nft `random`, `fully-random`: the kernel picks the source port at random. */
  randomPort?: boolean
}

/** The action text and the tuple change, applied to w.pkt. `where` names the rule in unknowns. */
export function applyNat(w: Walk, spec: NatSpec, where: string): {action: string; change?: Omit<NatChange, 'by'>} {
  const label = spec.kind === 'masquerade' ? 'MASQUERADE' : spec.kind.toUpperCase()
  const manip = natKindOfHook(w.hook)
  const wants = spec.kind === 'dnat' || spec.kind === 'redirect' ? 'dst' : 'src'
  // The kernel refuses these at load time (iptables: "DNAT is only valid in PREROUTING/OUTPUT"); a dump cannot have them.
  if (manip !== wants || (spec.kind === 'masquerade' && w.hook !== 'postrouting')) {
    w.unknown(`${where}: ${label} at ${w.hook} is not valid there: ignored`)
    return {action: `${label} (invalid at ${w.hook})`}
  }
  const p = w.pkt
  const dst = wants === 'dst'
  const before = {addr: dst ? p.dst : p.src, ...portOf(dst ? p.dport : p.sport)}
  let addr: string | undefined = spec.addrFrom
  let known = true
  if (spec.addrFrom !== undefined && spec.addrTo !== undefined && spec.addrTo !== spec.addrFrom)
    w.unknown(`${where}: ${label} to the range ${spec.addrFrom}-${spec.addrTo}: the kernel picks one address per connection; assumed the first`)
  if (spec.kind === 'masquerade') {
    addr = w.ctx.masqueradeAddress
    if (addr === undefined) {
      known = false
      w.unknown(`${where}: MASQUERADE takes the address the route via ${p.oif ?? 'the output device'} prefers, which was not given (masqueradeAddress): source address left unchanged`)
    }
  } else if (spec.kind === 'redirect') {
    if (w.hook === 'output') addr = p.family === 'ipv4' ? '127.0.0.1' : '::1'
    else {
      // nf_nat_redirect_ipv4: the first (primary) address of the input device; which of the local addresses
      // belongs to iif is not known here.
      const bits = p.family === 'ipv4' ? 32 : 128
      addr = w.ctx.localAddresses.find((a) => parseIp(a)?.bits === bits && !a.startsWith('127.') && a !== '::1')
      if (addr === undefined) {
        known = false
        w.unknown(`${where}: REDIRECT goes to the primary address of ${p.iif ?? 'the input device'}, and no local ${p.family} address was given: destination address left unchanged`)
      } else w.unknown(`${where}: REDIRECT goes to the primary address of ${p.iif ?? 'the input device'}: assumed ${addr}`)
    }
  }
  let port: number | undefined
  if (spec.portFrom !== undefined) {
    port = spec.portFrom
    if (spec.portTo !== undefined && spec.portTo !== spec.portFrom) w.unknown(`${where}: ${label} to ports ${spec.portFrom}-${spec.portTo}: the kernel picks one; assumed ${spec.portFrom}`)
  } else if (spec.randomPort && !dst) {
    w.note(`${label} with random/fully-random source ports: the kernel picks the source port; the original port is kept here`)
    p.sportRandom = true
  }
  if (addr !== undefined) {
    if (dst) p.dst = addr
    else p.src = addr
  }
  if (port !== undefined) {
    if (dst) p.dport = port
    else p.sport = port
  }
  w.setCt(dst ? 'dnat' : 'snat')
  const afterAddr = known ? (dst ? p.dst : p.src) : `<address of ${(dst ? p.iif : p.oif) ?? (dst ? 'iif' : 'oif')}>`
  const after = {addr: afterAddr, ...portOf(dst ? p.dport : p.sport)}
  const shownPort = spec.portFrom !== undefined ? port : undefined
  const action = known ? `${label} to ${formatAddrPort(afterAddr, shownPort)}` : shownPort !== undefined ? `${label} to :${shownPort}` : label
  return {action, change: {kind: spec.kind, before, after}}
}

function portOf(p: number | undefined): {port?: number} {
  return p === undefined ? {} : {port: p}
}

/** The first NAT at the hook binds it (one manip type per hook); record it and who did it. */
export function bindNat(w: Walk, change: Omit<NatChange, 'by'>, hit: RuleHit): void {
  w.nat ??= {...change, by: hit}
  w.natBoundBy ??= hit
}
