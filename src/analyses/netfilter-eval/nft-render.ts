import {isJsonObject, type JsonObject} from '../../util/json.js'
/**
 * A readable rendering of `nft -j` rule expressions, close to what `nft list` prints, for RuleHit.raw and
 * actions: `ip daddr . meta l4proto . th dport vmap @service-ips`, `meta mark & 0x4000 == 0x0 return`.
 */

/** Numbers next to a mark are shown in hex, as nft does. */
function involvesMark(e: unknown): boolean {
  if (!isJsonObject(e)) return false
  if (isJsonObject(e.meta) && e.meta.key === 'mark') return true
  if (isJsonObject(e.ct) && e.ct.key === 'mark') return true
  for (const k of ['&', '|', '^']) if (Array.isArray(e[k])) return (e[k] as unknown[]).some(involvesMark)
  return false
}

export function renderExpr(e: unknown, hexNumbers = false): string {
  if (typeof e === 'number') return hexNumbers ? `0x${e.toString(16)}` : String(e)
  if (typeof e === 'string') return e.startsWith('@') || /^[\w.:/*-]+$/.test(e) ? e : JSON.stringify(e)
  if (typeof e === 'boolean') return e ? 'exists' : 'missing'
  if (e === null || e === undefined) return ''
  if (Array.isArray(e)) return e.map((x) => renderExpr(x, hexNumbers)).join(',')
  if (!isJsonObject(e)) return JSON.stringify(e)
  const key = Object.keys(e)[0] ?? ''
  const b = e[key]
  const o = isJsonObject(b) ? b : {}
  switch (key) {
    case 'payload':
      return o.protocol !== undefined ? `${String(o.protocol)} ${String(o.field)}` : `@${String(o.base)},${String(o.offset)},${String(o.len)}`
    case 'meta': {
      const k = String(o.key)
      return k === 'iifname' || k === 'oifname' || k === 'iif' || k === 'oif' || k === 'mark' ? (k === 'mark' ? 'meta mark' : k) : `meta ${k}`
    }
    case 'ct':
      return `ct${o.dir !== undefined ? ` ${String(o.dir)}` : ''}${o.family !== undefined ? ` ${String(o.family)}` : ''} ${String(o.key)}`
    case 'fib':
      return `fib ${(Array.isArray(o.flags) ? o.flags : [o.flags]).map(String).join(' . ')} ${String(o.result)}`
    case 'concat':
      return (Array.isArray(b) ? b : []).map((x) => renderExpr(x, hexNumbers)).join(' . ')
    case 'set':
      return `{ ${(Array.isArray(b) ? b : []).map((x) => (Array.isArray(x) && x.length === 2 ? `${renderExpr(x[0], hexNumbers)} : ${renderVerdictOrValue(x[1])}` : renderExpr(x, hexNumbers))).join(', ')} }`
    case 'prefix':
      return `${String(o.addr)}/${String(o.len)}`
    case 'range':
      return Array.isArray(b) ? `${renderExpr(b[0], hexNumbers)}-${renderExpr(b[1], hexNumbers)}` : '?'
    case 'elem':
      return renderExpr(o.val, hexNumbers)
    case '&':
    case '|':
    case '^':
    case '<<':
    case '>>': {
      const [l, r] = Array.isArray(b) ? b : []
      const hx = hexNumbers || involvesMark(l)
      return `${renderExpr(l, hx)} ${key} ${renderExpr(r, hx)}`
    }
    case 'map':
      return `${renderExpr(o.key)} map ${renderExpr(o.data)}`
    case 'numgen':
      return `numgen ${String(o.mode)} mod ${String(o.mod)}${o.offset ? ` offset ${String(o.offset)}` : ''}`
    default:
      return `${key} ${JSON.stringify(b)}`
  }
}

function renderVerdictOrValue(v: unknown): string {
  if (isJsonObject(v)) {
    const k = Object.keys(v)[0] ?? ''
    if (['accept', 'drop', 'return', 'continue', 'jump', 'goto', 'queue'].includes(k)) return renderStatement(v)
  }
  return renderExpr(v)
}

export function renderStatement(st: unknown): string {
  if (!isJsonObject(st)) return JSON.stringify(st)
  const key = Object.keys(st)[0] ?? ''
  const b = st[key]
  const o = isJsonObject(b) ? b : {}
  switch (key) {
    case 'match': {
      const hx = involvesMark(o.left)
      const op = String(o.op ?? '==')
      const shownOp = op === '==' || op === 'in' ? '' : `${op} `
      // nft shows `meta mark & 0x4000 == 0x0` with the operator when the left side is a bitwise expression
      const explicit = isJsonObject(o.left) && ('&' in o.left || '|' in o.left) && op === '==' ? '== ' : shownOp
      return `${renderExpr(o.left, hx)} ${explicit}${renderExpr(o.right, hx)}`
    }
    case 'accept':
    case 'drop':
    case 'return':
    case 'continue':
      return key
    case 'jump':
    case 'goto':
      return `${key} ${String(o.target)}`
    case 'vmap':
      return `${renderExpr(o.key)} vmap ${renderExpr(o.data)}`
    case 'mangle': {
      const hx = involvesMark(o.key)
      return `${renderExpr(o.key)} set ${renderExpr(o.value, hx)}`
    }
    case 'counter':
      return 'counter'
    case 'log':
      return o.prefix !== undefined ? `log prefix ${JSON.stringify(o.prefix)}` : 'log'
    case 'limit':
      return `limit rate ${o.inv ? 'over ' : ''}${String(o.rate)}/${String(o.per)}`
    case 'dnat':
    case 'snat':
      return `${key} to ${natTarget(o)}`
    case 'masquerade':
    case 'redirect': {
      const port = o.port !== undefined ? ` to :${renderExpr(o.port)}` : ''
      const flags = o.flags !== undefined ? ` ${(Array.isArray(o.flags) ? o.flags : [o.flags]).map(String).join(',')}` : ''
      return `${key}${port}${flags}`
    }
    case 'reject':
      return isJsonObject(b) && o.type !== undefined ? `reject with ${String(o.type)}${o.expr !== undefined ? ` ${String(o.expr)}` : ''}` : 'reject'
    case 'notrack':
      return 'notrack'
    case 'queue':
      return `queue${o.num !== undefined ? ` num ${renderExpr(o.num)}` : ''}`
    case 'tproxy':
      return `tproxy to ${natTarget(o)}`
    case 'xt':
      return `xt ${String(o.type)} ${JSON.stringify(o.name)}`
    default:
      return `${key}${b === null || b === undefined ? '' : ` ${JSON.stringify(b)}`}`
  }
}

function natTarget(o: JsonObject): string {
  const addr = o.addr !== undefined ? renderExpr(o.addr) : ''
  const port = o.port !== undefined ? renderExpr(o.port) : undefined
  if (port === undefined) return addr
  return addr.includes(':') && !addr.startsWith('[') ? `[${addr}]:${port}` : `${addr}:${port}`
}

/**
 * One nft rule as `nft list` prints it, its comment last: how both `trace` (RuleHit.raw) and `marks`
 * (MarkUsage.raw) show a rule.
 */
export function renderRule(r: {expr: readonly unknown[]; comment?: string}): string {
  const text = r.expr.map(renderStatement).join(' ')
  return r.comment === undefined ? text : `${text} comment ${JSON.stringify(r.comment)}`
}
