/** Named and anonymous set/map lookups (kube-proxy's `ip daddr . meta l4proto . th dport vmap @service-ips`), indexed once per set. */
import type {NftSet, NftTable} from '../../../model/netfilter.js'
import {atomHas, constScalar, type Atom} from './constants.js'
import type {NftEnv, Scalar, Val} from './value.js'
import {isJsonObject} from '../../../util/json.js'

interface SetEntry {
  atoms: Atom[]
  data?: unknown
}

interface SetIndex {
  /** Elements whose parts are all single values, by their joined key. */
  exact: Map<string, SetEntry>
  /** Elements with a range, prefix or wildcard part, in listed order. */
  intervals: SetEntry[]
  /** Elements nft printed in a form not understood. */
  bad: number
}

/** Lazy per (element list, key type) index: a 10k-service `service-ips` map is indexed once, looked up in O(1). */
const setIndexes = new WeakMap<unknown[], Map<string, SetIndex>>()

function typeSig(v: Val): string {
  return v.type === 'concat' ? v.parts.map((p) => `${p.type}${p.bits ?? ''}`).join('.') : `${v.type}${v.bits ?? ''}`
}

function scalarsOf(v: Val): Scalar[] {
  return v.type === 'concat' ? v.parts : [v]
}

function exactKey(vs: ReadonlyArray<bigint | string>): string {
  return vs.map((v) => (typeof v === 'bigint' ? `n${v}` : `s${v}`)).join('\u0000')
}

function indexSet(elements: unknown[], like: Val, isMap: boolean): SetIndex {
  let byType = setIndexes.get(elements)
  if (!byType) {
    byType = new Map()
    setIndexes.set(elements, byType)
  }
  const sig = typeSig(like)
  const have = byType.get(sig)
  if (have) return have
  const idx: SetIndex = {exact: new Map(), intervals: [], bad: 0}
  const parts = scalarsOf(like)
  for (const raw of elements) {
    let key: unknown = raw
    let data: unknown
    if (isMap) {
      if (!Array.isArray(raw) || raw.length < 2) {
        idx.bad++
        continue
      }
      key = raw[0]
      data = raw[1]
    }
    // `{"elem": {"val": …, "comment": …, "timeout": …}}` wraps elements that carry options.
    if (isJsonObject(key) && isJsonObject(key.elem)) key = key.elem.val
    const keyParts = isJsonObject(key) && Array.isArray(key.concat) ? key.concat : [key]
    if (keyParts.length !== parts.length) {
      idx.bad++
      continue
    }
    const atoms: Atom[] = []
    for (let i = 0; i < parts.length; i++) {
      const a = constScalar(parts[i]!, keyParts[i])
      if (!a) break
      atoms.push(a)
    }
    if (atoms.length !== parts.length) {
      idx.bad++
      continue
    }
    const entry: SetEntry = isMap ? {atoms, data} : {atoms}
    if (atoms.every((a) => a.kind === 'eq')) {
      const k = exactKey(atoms.map((a) => (a as {v: bigint | string}).v))
      if (!idx.exact.has(k)) idx.exact.set(k, entry)
    } else idx.intervals.push(entry)
  }
  byType.set(sig, idx)
  return idx
}

export type Lookup = {found: true; data?: unknown} | {found: false} | {unknown: string}

const namedSets = new WeakMap<NftTable, Map<string, NftSet>>()

export function namedSet(table: NftTable, ref: string): NftSet | undefined {
  let m = namedSets.get(table)
  if (!m) {
    m = new Map(table.sets.map((s) => [s.name, s]))
    namedSets.set(table, m)
  }
  return m.get(ref.startsWith('@') ? ref.slice(1) : ref)
}

/** Look a key up in `@name` or an anonymous `{"set": [...]}`; for maps, the element's data. */
export function lookup(ref: unknown, key: Val, env: NftEnv, isMap: boolean): Lookup {
  let elements: unknown[]
  let label: string
  if (typeof ref === 'string' && ref.startsWith('@')) {
    const s = namedSet(env.table, ref)
    if (!s) return {unknown: `set ${ref} is not in table ${env.table.family} ${env.table.name}`}
    elements = s.elements
    label = ref
  } else if (isJsonObject(ref) && Array.isArray(ref.set)) {
    elements = ref.set
    label = 'anonymous set'
  } else return {unknown: `set ${JSON.stringify(ref)} not understood`}
  const idx = indexSet(elements, key, isMap)
  const vs = scalarsOf(key)
  const exact = idx.exact.get(exactKey(vs.map((s) => s.v)))
  if (exact) return isMap ? {found: true, data: exact.data} : {found: true}
  for (const e of idx.intervals) if (e.atoms.every((a, i) => atomHas(a, vs[i]!))) return isMap ? {found: true, data: e.data} : {found: true}
  if (idx.bad > 0) return {unknown: `${label}: ${idx.bad} element(s) not understood, and no other element matches`}
  return {found: false}
}

