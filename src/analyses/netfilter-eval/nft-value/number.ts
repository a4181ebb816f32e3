import {intConst} from './constants.js'
import {evalExpr} from './expr.js'
import {lookup} from './sets.js'
import type {NftEnv} from './value.js'
import {isJsonObject} from '../../../util/json.js'

/**
 * A number a statement writes (`meta mark set …`, `ct mark set …`): constants, the marks, `&`/`|`/`^`/shifts and
 * map lookups (`meta mark set tcp dport map { 80 : 0x1 }`). Numgen-keyed maps are branch points: the walker
 * resolves them before calling this.
 */
export function evalNumber(e: unknown, env: NftEnv): {n: bigint} | {absent: string} | {unknown: string} {
  const c = intConst(e)
  if (c && c.kind === 'eq' && typeof c.v === 'bigint') return {n: c.v}
  if (isJsonObject(e) && isJsonObject(e.map)) {
    const key = evalExpr(e.map.key, env)
    if (!('val' in key)) return key
    const r = lookup(e.map.data, key.val, env, true)
    if ('unknown' in r) return r
    if (!r.found) return {absent: 'no map element for the key'}
    return evalNumber(r.data, env)
  }
  if (isJsonObject(e)) {
    const key = Object.keys(e)[0] ?? ''
    const body = e[key]
    if ((key === '&' || key === '|' || key === '^' || key === '<<' || key === '>>') && Array.isArray(body) && body.length === 2) {
      const a = evalNumber(body[0], env)
      if (!('n' in a)) return a
      const b = evalNumber(body[1], env)
      if (!('n' in b)) return b
      const all = 0xffffffffn
      const n = key === '&' ? a.n & b.n : key === '|' ? a.n | b.n : key === '^' ? a.n ^ b.n : key === '<<' ? (a.n << b.n) & all : a.n >> b.n
      return {n}
    }
  }
  const v = evalExpr(e, env)
  if (!('val' in v)) return v
  if (v.val.type === 'concat' || typeof v.val.v !== 'bigint') return {unknown: `value ${JSON.stringify(e)} is not a number`}
  return {n: v.val.v}
}
