import {atomHas, constScalar} from './constants.js'
import {lookup} from './sets.js'
import type {NftEnv, Val} from './value.js'
import {isJsonObject} from '../../../util/json.js'

/** `left op right` for a match statement; `unknown` when the right side cannot be read. */
export function relate(op: string, left: Val, right: unknown, env: NftEnv): boolean | {unknown: string} {
  // Set membership: `ip daddr @cluster-ips`, `tcp dport { 22, 80-90 }`.
  if ((typeof right === 'string' && right.startsWith('@')) || (isJsonObject(right) && Array.isArray(right.set))) {
    const r = lookup(right, left, env, false)
    if ('unknown' in r) return r
    if (op === '==' || op === 'in') return r.found
    if (op === '!=') return !r.found
    return {unknown: `operator ${op} with a set`}
  }
  if (left.type === 'concat') {
    const parts = isJsonObject(right) && Array.isArray(right.concat) ? right.concat : undefined
    if (!parts || parts.length !== left.parts.length) return {unknown: `concatenation compared with ${JSON.stringify(right)}`}
    let all = true
    for (let i = 0; i < parts.length; i++) {
      const a = constScalar(left.parts[i]!, parts[i])
      if (!a) return {unknown: `constant ${JSON.stringify(parts[i])} not understood`}
      if (!atomHas(a, left.parts[i]!)) all = false
    }
    return op === '!=' ? !all : all
  }
  const a = constScalar(left, right)
  if (!a) return {unknown: `constant ${JSON.stringify(right)} not understood for ${left.type}`}
  const flags = left.type === 'ctstate' || left.type === 'ctstatus' || left.type === 'tcpflags'
  switch (op) {
    case 'in':
      // `ct state established,related`: any of the bits (nft's implicit `& bits != 0`)
      if (flags && a.kind === 'eq' && typeof a.v === 'bigint' && typeof left.v === 'bigint') return (left.v & a.v) !== 0n
      return atomHas(a, left)
    case '==':
      return atomHas(a, left)
    case '!=':
      return !atomHas(a, left)
    case '<':
    case '>':
    case '<=':
    case '>=': {
      if (a.kind !== 'eq' || typeof a.v !== 'bigint' || typeof left.v !== 'bigint') return {unknown: `operator ${op} on ${left.type}`}
      const l = left.v
      const r = a.v
      return op === '<' ? l < r : op === '>' ? l > r : op === '<=' ? l <= r : l >= r
    }
    default:
      return {unknown: `operator ${op} not understood`}
  }
}

