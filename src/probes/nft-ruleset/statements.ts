/**
 * What a rule's statements say about marks and verdicts, read once at parse time: mark matches, mark writes
 * folded into the mark operation they are (the one reading of nft's mark arithmetic: the walker applies it),
 * the verdict and the chains a verdict map can reach.
 */
import {FULL_MASK, parseU32, type Mark, type MarkOp, type MarkTarget} from '../../model/mark.js'
import type {NftMarkMatch, NftMarkWrite, NftRule, NftTable, NftVerdict} from '../../model/netfilter.js'
import {str} from './json.js'
import {isJsonObject, type JsonObject} from '../../util/json.js'

const VERDICTS = new Set(['accept', 'drop', 'return', 'continue', 'jump', 'goto', 'queue', 'reject'])

export function readStatements(r: NftRule, expr: unknown[]): void {
  for (const st of expr) {
    if (!isJsonObject(st)) continue
    const kind = Object.keys(st)[0] ?? ''
    const body = st[kind]
    if (kind === 'xt' && isJsonObject(body)) {
      r.xt.push({type: str(body.type) ?? '', name: str(body.name) ?? ''})
    } else if (kind === 'match' && isJsonObject(body)) {
      const m = markMatch(body)
      if (m) r.markMatches.push(m)
    } else if (kind === 'mangle' && isJsonObject(body)) {
      const target = markKey(body.key)
      if (target) r.markWrites.push(markWrite(target, body.value))
    } else if (kind === 'vmap' && isJsonObject(body)) {
      const on = markOperand(body.key)
      if (on) r.markMatches.push({on: on.on, op: 'vmap', right: body.data})
      r.verdict = vmapVerdict(body.data)
    } else if (VERDICTS.has(kind)) {
      const v: NftVerdict = {kind: kind as NftVerdict['kind']}
      if ((kind === 'jump' || kind === 'goto') && isJsonObject(body) && typeof body.target === 'string') v.target = body.target
      r.verdict = v
    }
  }
}

/** `{"meta":{"key":"mark"}}` → packet, `{"ct":{"key":"mark"}}` → conntrack. */
function markKey(v: unknown): MarkTarget | undefined {
  if (!isJsonObject(v)) return undefined
  if (isJsonObject(v.meta) && v.meta.key === 'mark') return 'packet'
  if (isJsonObject(v.ct) && v.ct.key === 'mark') return 'conntrack'
  return undefined
}

/** `meta mark` or `meta mark & 0x4000` (either operand order) as the left side of a match. */
function markOperand(v: unknown): {on: MarkTarget; mask: number} | undefined {
  const direct = markKey(v)
  if (direct) return {on: direct, mask: FULL_MASK}
  if (!isJsonObject(v) || !Array.isArray(v['&']) || v['&'].length !== 2) return undefined
  const [a, b] = v['&'] as unknown[]
  const ka = markKey(a)
  const kb = markKey(b)
  const na = u32(a)
  const nb = u32(b)
  if (ka && nb !== undefined) return {on: ka, mask: nb}
  if (kb && na !== undefined) return {on: kb, mask: na}
  return undefined
}

function markMatch(m: JsonObject): NftMarkMatch | undefined {
  const left = markOperand(m.left)
  if (!left) return undefined
  const out: NftMarkMatch = {on: left.on, op: str(m.op) ?? '==', right: m.right}
  const value = u32(m.right)
  if (value !== undefined) out.mark = {value, mask: left.mask} satisfies Mark
  return out
}

/** nft prints mark values as JSON numbers; accept "0x4000"-style strings too. */
function u32(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= FULL_MASK ? v : undefined
  if (typeof v === 'string') {
    const r = parseU32(v)
    return 'value' in r ? r.value : undefined
  }
  return undefined
}

interface Folded {
  source: MarkTarget | 'none'
  and: number
  xor: number
}

/**
 * Fold a value expression into nft's own kernel form `(source & and) ^ xor` (the bitwise expression nft
 * compiles `meta mark set meta mark | 0x4000` and `mark and 0xffff0000 or 0x4000` into). Undefined for
 * forms we do not fold: map lookups, shifts, other keys.
 */
function fold(v: unknown): Folded | undefined {
  const n = u32(v)
  if (n !== undefined) return {source: 'none', and: 0, xor: n}
  const k = markKey(v)
  if (k) return {source: k, and: FULL_MASK, xor: 0}
  if (!isJsonObject(v)) return undefined
  for (const op of ['&', '|', '^'] as const) {
    const args = v[op]
    if (!Array.isArray(args) || args.length !== 2) continue
    // nft prints [expression, constant]; accept the mirror image too (all three operators commute)
    const [a, b] = args as unknown[]
    const cb = u32(b)
    const ca = u32(a)
    const inner = cb !== undefined ? fold(a) : ca !== undefined ? fold(b) : undefined
    const c = cb !== undefined ? cb : ca
    if (!inner || c === undefined) return undefined
    if (op === '&') return {source: inner.source, and: (inner.and & c) >>> 0, xor: (inner.xor & c) >>> 0}
    if (op === '|') return {source: inner.source, and: (inner.and & ~c) >>> 0, xor: (inner.xor | c) >>> 0}
    return {source: inner.source, and: inner.and, xor: (inner.xor ^ c) >>> 0}
  }
  return undefined
}

function markWrite(target: MarkTarget, value: unknown): NftMarkWrite {
  const w: NftMarkWrite = {target, value}
  const f = fold(value)
  if (!f) return w
  const op: MarkOp = f.source === 'none' || f.and === 0 ? {kind: 'set', target, value: f.xor} : {kind: 'bitwise', target, source: f.source, and: f.and, xor: f.xor}
  w.op = op
  return w
}

function vmapVerdict(data: unknown): NftVerdict {
  const v: NftVerdict = {kind: 'vmap'}
  if (typeof data === 'string') {
    v.map = data
    return v
  }
  const targets = verdictTargets(isJsonObject(data) && Array.isArray(data.set) ? data.set : [])
  if (targets.length > 0) v.targets = targets
  return v
}

/** jump/goto targets in a list of `[key, verdict]` map elements. */
function verdictTargets(elements: unknown[]): string[] {
  const out: string[] = []
  for (const e of elements) {
    if (!Array.isArray(e) || e.length < 2) continue
    const verdict = e[1]
    if (!isJsonObject(verdict)) continue
    for (const k of ['jump', 'goto'] as const) {
      const j = verdict[k]
      if (isJsonObject(j) && typeof j.target === 'string' && !out.includes(j.target)) out.push(j.target)
    }
  }
  return out
}

/** `vmap @service-ips`: the chains come from the named map's elements. */
export function resolveNamedVmaps(t: NftTable): void {
  for (const c of t.chains)
    for (const r of c.rules) {
      const v = r.verdict
      if (v?.kind !== 'vmap' || v.map === undefined) continue
      const m = t.sets.find((s) => s.kind === 'map' && `@${s.name}` === v.map)
      if (!m) continue
      const targets = verdictTargets(m.elements)
      if (targets.length > 0) v.targets = targets
    }
}

