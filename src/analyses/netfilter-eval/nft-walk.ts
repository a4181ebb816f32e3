/**
 * One native nft base chain, walked the way nft_do_chain does: each rule's statements in order (a failing match
 * or a breaking expression ends the rule), verdicts accept/drop/reject/queue end the base chain, jump pushes a
 * return point, goto does not, return or the end of a regular chain pops, and the base chain's policy applies when
 * the stack is empty. Verdict maps, numgen branch points and the NAT statements are handled here.
 */
import {applyMarkOp} from '../../model/mark.js'
import type {NftChain, NftRule, NftTable} from '../../model/netfilter.js'
import {applyNat, bindNat, type NatSpec} from './nat.js'
import {renderExpr, renderRule, renderStatement} from './nft-render.js'
import {evalExpr} from './nft-value/expr.js'
import {evalNumber} from './nft-value/number.js'
import {relate} from './nft-value/relate.js'
import {lookup, namedSet} from './nft-value/sets.js'
import type {NftEnv} from './nft-value/value.js'
import {walkChainStack, type StackMove} from './chain-stack.js'
import {chainsByName} from '../../model/chain-lookup.js'
import type {ChainOutcome, Walk} from './state.js'
import type {RuleHit} from './types.js'
import {isJsonObject, type JsonObject} from '../../util/json.js'

export interface NftBaseChain {
  table: NftTable
  chain: NftChain
}


export function nftTableLabel(t: NftTable): string {
  return `${t.family} ${t.name}`
}

/** Statements with no effect on the verdict, the tuple or the marks of this packet. */
const NO_EFFECT = new Set(['counter', 'log', 'comment', 'quota', 'set', 'map', 'ct helper', 'ct timeout', 'ct expectation', 'flow', 'dup', 'secmark'])
/** Keys a `mangle` may set without changing anything evaluated here. */
const HARMLESS_MANGLE = /^(meta (nftrace|priority|pkttype)|ct (zone|label|helper|expectation|timeout|event)|(ip|ip6) (dscp|ecn|ttl|hoplimit|flowlabel)|tcp option)/

/** A verdict as the walker handles it. */
type Verdict = {kind: 'accept' | 'drop' | 'reject' | 'queue' | 'return' | 'continue' | 'unknown'} | {kind: 'jump' | 'goto'; target: string}

interface RuleResult {
  /** Undefined: the rule ended without a verdict (or did not match); go on with the next rule. */
  verdict?: Verdict
  hit?: RuleHit
}

class NftTableWalk {
  readonly env: NftEnv
  readonly label: string
  constructor(
    readonly w: Walk,
    readonly table: NftTable,
  ) {
    this.env = {w, table}
    this.label = nftTableLabel(table)
  }

  where(c: NftChain, r: NftRule): string {
    return `nft ${this.label}/${c.name} #${r.position}${r.handle !== undefined ? ` (handle ${r.handle})` : ''}`
  }

  ruleHit(c: NftChain, r: NftRule, action: string): RuleHit {
    const h: RuleHit = {engine: 'nft', table: this.label, chain: c.name, position: r.position, raw: renderRule(r), action, markAfter: this.w.pkt.mark, ctmarkAfter: this.w.pkt.ctmark}
    if (r.handle !== undefined) h.handle = r.handle
    return h
  }

  /** Run one rule's statements. */
  runRule(c: NftChain, r: NftRule): RuleResult {
    const w = this.w
    const where = this.where(c, r)
    const effects: string[] = []
    let markWrites = 0
    const done = (verdict: Verdict | undefined, action: string): RuleResult => {
      const h = this.ruleHit(c, r, [...effects, action].filter((s) => s !== '').join('; '))
      w.trail.push(h)
      return verdict ? {verdict, hit: h} : {hit: h}
    }
    /** The rule breaks here (a failed match, a missing map key): effects so far stay, as in the kernel. */
    const stop = (): RuleResult => {
      if (effects.length === 0) return {}
      const h = this.ruleHit(c, r, `${effects.join('; ')} (then the rule stopped)`)
      w.trail.push(h)
      return {hit: h}
    }
    for (const st of r.expr) {
      if (!isJsonObject(st)) {
        w.unknown(`${where}: statement ${JSON.stringify(st)} not understood: assumed no effect`)
        continue
      }
      const key = Object.keys(st)[0] ?? ''
      const b = st[key]
      switch (key) {
        case 'match': {
          if (!this.match(isJsonObject(b) ? b : {}, where)) return stop()
          continue
        }
        case 'accept':
        case 'drop':
        case 'return':
        case 'continue':
          return done({kind: key}, key.toUpperCase())
        case 'reject':
          return done({kind: 'reject'}, renderStatement(st).replace(/^reject/, 'REJECT'))
        case 'queue':
          w.unknown(`${where}: queue hands the packet to a user-space program, whose verdict is not known`)
          return done({kind: 'queue'}, 'QUEUE')
        case 'jump':
        case 'goto': {
          const target = isJsonObject(b) ? String(b.target) : ''
          return done({kind: key, target}, `${key} ${target}`)
        }
        case 'vmap': {
          const o = isJsonObject(b) ? b : {}
          const data = this.mapValue(o.key, o.data, c, r, where, true)
          if (data === undefined) return stop()
          const v = verdictOf(data)
          if (!v) {
            w.unknown(`${where}: verdict map element ${JSON.stringify(data)} not understood: assumed no verdict`)
            return stop()
          }
          return done(v, verdictText(v))
        }
        case 'mangle': {
          const o = isJsonObject(b) ? b : {}
          const target = isJsonObject(o.key) && isJsonObject(o.key.meta) && o.key.meta.key === 'mark' ? 'packet' : isJsonObject(o.key) && isJsonObject(o.key.ct) && o.key.ct.key === 'mark' ? 'conntrack' : undefined
          const text = renderStatement(st)
          if (!target) {
            if (!HARMLESS_MANGLE.test(renderExpr(o.key))) w.unknown(`${where}: ${text} not evaluated: assumed it changes nothing evaluated here`)
            effects.push(text)
            continue
          }
          // The parse read each mark write in order (NftRule.markWrites): the value, folded into one mark
          // operation where it is the marks' own arithmetic, is applied as MARK's is (applyMarkOp).
          const write = r.markWrites[markWrites++]
          if (target === 'conntrack' && w.untracked) return stop() // no conntrack entry: nft_ct_set_eval has nothing to write
          const op = write?.op
          // Reading ct mark without a conntrack entry breaks the rule (nft_ct_get_eval): left to the evaluation below.
          if (op && !(op.kind === 'bitwise' && op.source === 'conntrack' && w.untracked)) {
            const s = applyMarkOp(op, {packet: w.pkt.mark, conntrack: w.pkt.ctmark})
            w.pkt.mark = s.packet
            w.pkt.ctmark = s.conntrack
            effects.push(text)
            continue
          }
          // Maps, shifts, other keys: evaluated as any nft value.
          const v = this.numberValue(o.value, c, r, where)
          if (v === undefined) return stop()
          if (v === 'unknown') {
            effects.push(`${text} (value unknown: unchanged)`)
            continue
          }
          const s = applyMarkOp({kind: 'set', target, value: v}, {packet: w.pkt.mark, conntrack: w.pkt.ctmark})
          w.pkt.mark = s.packet
          w.pkt.ctmark = s.conntrack
          effects.push(text)
          continue
        }
        case 'notrack':
          w.setCt('untracked')
          effects.push('notrack')
          continue
        case 'ct':
          // `ct zone set …`, `ct helper set …` print as {"ct helper": …} objects; a bare "ct" statement is unexpected.
          w.unknown(`${where}: ${renderStatement(st)} not evaluated: assumed no effect`)
          continue
        case 'limit':
          w.unknown(`${where}: ${renderStatement(st)}: rate state is not known: assumed ${isJsonObject(b) && b.inv ? 'under the limit (no match)' : 'under the limit (match)'}`)
          if (isJsonObject(b) && b.inv) return stop()
          continue
        case 'tproxy':
          w.unknown(`${where}: tproxy needs a listening socket: assumed one is (the packet is assigned to it)`)
          effects.push(renderStatement(st))
          continue
        case 'xt': {
          const o = isJsonObject(b) ? b : {}
          w.unknown(`${where}: iptables extension ${String(o.type)} "${String(o.name)}" is opaque in nft JSON (read this table through iptables-save): assumed ${o.type === 'match' ? 'no match' : 'no effect'}`)
          if (o.type === 'match') return stop()
          continue
        }
        case 'dnat':
        case 'snat':
        case 'masquerade':
        case 'redirect': {
          const spec = this.natSpec(key, isJsonObject(b) ? b : {}, c, r, where)
          if (spec === undefined) return stop()
          const {action, change} = applyNat(w, spec, where)
          const res = done({kind: 'accept'}, action)
          if (change && res.hit) bindNat(w, change, res.hit)
          return res
        }
        default:
          if (NO_EFFECT.has(key)) continue
          w.unknown(`${where}: statement ${renderStatement(st)} not evaluated: assumed no effect`)
          continue
      }
    }
    return done(undefined, effects.length ? '' : 'CONTINUE (no verdict)')
  }

  /** A match statement: true when it holds. Unknowns are recorded with what was assumed (no match). */
  private match(m: JsonObject, where: string): boolean {
    const w = this.w
    const left = evalExpr(m.left, this.env)
    const text = renderStatement({match: m})
    if ('absent' in left) return false
    if ('unknown' in left) {
      w.unknown(`${where}: ${text}: ${left.unknown}: assumed no match`)
      return false
    }
    if (left.assumed) w.unknown(`${where}: ${left.assumed}`)
    const r = relate(String(m.op ?? '=='), left.val, m.right, this.env)
    if (typeof r === 'object') {
      w.unknown(`${where}: ${text}: ${r.unknown}: assumed no match`)
      return false
    }
    return r
  }

  /**
   * The data a map or verdict map gives for `key`: a numgen key is a branch point (every element an
   * alternative, each value of `numgen … mod N` equally likely); otherwise a lookup. Undefined: no element (the
   * rule breaks), or the key could not be evaluated (recorded).
   */
  mapValue(keyExpr: unknown, data: unknown, c: NftChain, r: NftRule, where: string, verdictMap: boolean): unknown {
    const w = this.w
    if (isJsonObject(keyExpr) && isJsonObject(keyExpr.numgen)) return this.numgenBranch(keyExpr.numgen, data, c, r, where, verdictMap)
    const key = evalExpr(keyExpr, this.env)
    if ('absent' in key) return undefined
    if ('unknown' in key) {
      w.unknown(`${where}: ${renderExpr(keyExpr)} ${verdictMap ? 'vmap' : 'map'}: ${key.unknown}: assumed no element matches`)
      return undefined
    }
    if (key.assumed) w.unknown(`${where}: ${key.assumed}`)
    const found = lookup(data, key.val, this.env, true)
    if ('unknown' in found) {
      w.unknown(`${where}: ${renderExpr(keyExpr)} ${verdictMap ? 'vmap' : 'map'} ${renderExpr(data)}: ${found.unknown}: assumed no element matches`)
      return undefined
    }
    return found.found ? found.data : undefined
  }

  private numgenBranch(ng: JsonObject, data: unknown, c: NftChain, r: NftRule, where: string, verdictMap: boolean): unknown {
    const w = this.w
    const mod = Number(ng.mod)
    const offset = Number(ng.offset ?? 0)
    const elements = typeof data === 'string' ? namedSet(this.table, data)?.elements : isJsonObject(data) && Array.isArray(data.set) ? data.set : undefined
    if (!elements || !Number.isInteger(mod) || mod <= 0) {
      w.unknown(`${where}: numgen map ${renderExpr(data)} not understood: assumed no element matches`)
      return undefined
    }
    // Each value offset..offset+mod-1 is equally likely (nft_ng_random_eval: reciprocal_scale(random, mod) + offset).
    const alts: Array<{data?: unknown; count: number}> = []
    let covered = 0
    for (const el of elements) {
      if (!Array.isArray(el) || el.length < 2) continue
      let k: unknown = el[0]
      if (isJsonObject(k) && isJsonObject(k.elem)) k = k.elem.val
      let lo: number
      let hi: number
      if (typeof k === 'number') lo = hi = k
      else if (isJsonObject(k) && Array.isArray(k.range)) {
        lo = Number(k.range[0])
        hi = Number(k.range[1])
      } else continue
      const count = Math.max(0, Math.min(hi, offset + mod - 1) - Math.max(lo, offset) + 1)
      if (count === 0) continue
      covered += count
      alts.push({data: el[1], count})
    }
    if (covered < mod) alts.push({count: mod - covered})
    const chosen = w.pickBranch(alts.length, where)
    alts.forEach((a, i) => {
      const v = a.data === undefined ? undefined : verdictMap ? verdictOf(a.data) : undefined
      const action = a.data === undefined ? 'no element (the rule stops)' : v ? verdictText(v) : renderExpr(a.data)
      const leadsTo = a.data === undefined ? 'fall through (no element for this number)' : v && (v.kind === 'jump' || v.kind === 'goto') ? v.target : action
      w.branches.push({at: this.ruleHit(c, r, action), probability: a.count / mod, taken: i === chosen, leadsTo})
    })
    return alts[chosen]!.data
  }

  /** A mark value for `mangle`; 'unknown' (recorded) leaves the mark as it was, undefined breaks the rule. */
  private numberValue(e: unknown, c: NftChain, r: NftRule, where: string): number | 'unknown' | undefined {
    if (isJsonObject(e) && isJsonObject(e.map)) {
      const d = this.mapValue(e.map.key, e.map.data, c, r, where, false)
      if (d === undefined) return undefined
      return this.numberValue(d, c, r, where)
    }
    const v = evalNumber(e, this.env)
    if ('absent' in v) return undefined
    if ('unknown' in v) {
      this.w.unknown(`${where}: value ${renderExpr(e)}: ${v.unknown}: assumed the mark is unchanged`)
      return 'unknown'
    }
    return Number(v.n & 0xffffffffn)
  }

  /** The NAT statement's target: `dnat to 10.42.0.51:80`, a range, a (numgen) map of addresses or address . port. */
  private natSpec(kind: 'dnat' | 'snat' | 'masquerade' | 'redirect', o: JsonObject, c: NftChain, r: NftRule, where: string): NatSpec | undefined {
    const spec: NatSpec = {kind}
    // `dnat ip to …` in an inet table carries a hidden `meta nfproto ipv4` dependency: another family breaks the rule.
    if ((o.family === 'ip' && this.w.pkt.family !== 'ipv4') || (o.family === 'ip6' && this.w.pkt.family !== 'ipv6')) return undefined
    const flags = Array.isArray(o.flags) ? o.flags.map(String) : o.flags !== undefined ? [String(o.flags)] : []
    if (flags.includes('random') || flags.includes('fully-random')) spec.randomPort = true
    for (const field of ['addr', 'port'] as const) {
      let v = o[field]
      if (v === undefined) continue
      if (isJsonObject(v) && isJsonObject(v.map)) {
        v = this.mapValue(v.map.key, v.map.data, c, r, where, false)
        if (v === undefined) return undefined
      }
      if (!this.fillNat(spec, v, field, where)) return undefined
    }
    return spec
  }

  private fillNat(spec: NatSpec, v: unknown, field: 'addr' | 'port', where: string): boolean {
    if (isJsonObject(v) && Array.isArray(v.concat) && v.concat.length === 2) {
      // `dnat to ip daddr . tcp dport map { … : 10.0.0.9 . 8080 }`: address and port from one element
      return this.fillNat(spec, v.concat[0], 'addr', where) && this.fillNat(spec, v.concat[1], 'port', where)
    }
    if (field === 'port') {
      if (typeof v === 'number') spec.portFrom = spec.portTo = v
      else if (isJsonObject(v) && Array.isArray(v.range)) {
        spec.portFrom = Number(v.range[0])
        spec.portTo = Number(v.range[1])
      } else {
        this.w.unknown(`${where}: NAT port ${renderExpr(v)} not understood: port left unchanged`)
      }
      return true
    }
    if (typeof v === 'string') spec.addrFrom = spec.addrTo = v
    else if (isJsonObject(v) && Array.isArray(v.range)) {
      spec.addrFrom = String(v.range[0])
      spec.addrTo = String(v.range[1])
    } else if (isJsonObject(v) && isJsonObject(v.prefix)) {
      spec.addrFrom = String(v.prefix.addr)
      spec.addrTo = `${String(v.prefix.addr)}/${String(v.prefix.len)}`
    } else {
      this.w.unknown(`${where}: NAT address ${renderExpr(v)} not understood: assumed no NAT`)
      return false
    }
    return true
  }
}

function verdictOf(v: unknown): Verdict | undefined {
  if (!isJsonObject(v)) return undefined
  const k = Object.keys(v)[0] ?? ''
  if (k === 'accept' || k === 'drop' || k === 'return' || k === 'continue' || k === 'queue' || k === 'reject') return {kind: k}
  if ((k === 'jump' || k === 'goto') && isJsonObject(v[k])) return {kind: k, target: String((v[k] as JsonObject).target)}
  return undefined
}

function verdictText(v: Verdict): string {
  return v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.target}` : v.kind.toUpperCase()
}

export function runNftChain(w: Walk, base: NftBaseChain): ChainOutcome {
  const x = new NftTableWalk(w, base.table)
  const chains = chainsByName(base.table)
  const policy = (): ChainOutcome => {
    const b = base.chain.base
    const pol = (b?.policy ?? 'accept').toLowerCase()
    const raw = `chain ${base.chain.name} { type ${b?.type ?? 'filter'} hook ${b?.hook ?? '?'} priority ${b?.prio ?? 0}; policy ${pol}; }`
    const h: RuleHit = {engine: 'nft', table: x.label, chain: base.chain.name, position: 0, raw, action: `${pol.toUpperCase()} (policy)`, markAfter: w.pkt.mark, ctmarkAfter: w.pkt.ctmark}
    if (base.chain.handle !== undefined) h.handle = base.chain.handle
    w.trail.push(h)
    if (pol === 'drop') return {verdict: 'drop', by: h, text: 'DROP (policy)'}
    return {verdict: 'accept', by: h, text: 'ACCEPT (policy)'}
  }
  const rules = (chain: NftChain): (() => NftRule | undefined) => {
    let i = 0
    return () => chain.rules[i++]
  }
  const run = (chain: NftChain, rule: NftRule): StackMove<NftChain> => {
    const res = x.runRule(chain, rule)
    const v = res.verdict
    const end = (verdict: ChainOutcome['verdict'], text: string): StackMove<NftChain> => ({kind: 'end', outcome: {verdict, by: res.hit, text}})
    if (!v || v.kind === 'continue') return {kind: 'next'}
    switch (v.kind) {
      case 'accept':
        return end('accept', res.hit?.action.split('; ').pop() ?? 'ACCEPT')
      case 'drop':
        return end('drop', 'DROP')
      case 'reject':
        return end('reject', 'REJECT')
      case 'queue':
        return end('queue', 'QUEUE')
      case 'unknown':
        return end('unknown', 'UNKNOWN')
      case 'return':
        return {kind: 'return'}
      case 'jump':
      case 'goto': {
        const next = chains.get(v.target)
        if (!next) {
          w.unknown(`${x.where(chain, rule)}: ${v.kind} ${v.target}: no such chain in ${x.label}: assumed it returns`)
          return {kind: 'next'}
        }
        return v.kind === 'goto' ? {kind: 'goto', chain: next} : {kind: 'jump', chain: next, ...(res.hit ? {by: res.hit} : {})}
      }
    }
  }
  return walkChainStack(w, {base: base.chain, rules, run, policy})
}
