/**
 * `-m set --match-set NAME src,dst`: membership of the packet in an ipset whose contents the caller read with
 * `ipset list`. Members as ipset prints them: `10.0.0.1`, `10.0.0.0/24`, `10.0.0.1,tcp:80`,
 * `10.0.0.0/24,udp:53,10.1.0.1`, `10.0.0.0/8 nomatch`, each possibly followed by `timeout 300 packets 0 …`.
 */
import {inPrefix, inRange, parseIp, type Ip} from './addr.js'
import {protoNumber, type Walk} from './state.js'

export type IpsetAnswer = {ok: boolean} | {unknown: string}

interface Member {
  parts: string[]
  nomatch: boolean
}

const parsedMembers = new WeakMap<string[], Member[]>()

function members(list: string[]): Member[] {
  let m = parsedMembers.get(list)
  if (!m) {
    m = list.map((text) => {
      const words = text.trim().split(/\s+/)
      return {parts: (words[0] ?? '').split(','), nomatch: words.includes('nomatch')}
    })
    parsedMembers.set(list, m)
  }
  return m
}

/** Is the packet (the fields `directions` name, one per dimension) in set `name`? */
export function ipsetLookup(w: Walk, name: string, directions: readonly string[], depth = 0): IpsetAnswer {
  const set = w.ctx.ipsets?.get(name)
  if (!set) return {unknown: `ipset ${name} unknown (not in ipset list)`}
  const [method, dimText] = set.type.split(':')
  if (method === 'list') {
    if (depth > 8) return {unknown: `ipset ${name}: list:set nested too deep`}
    // list:set: a match in any member set (in order) is a match.
    let unknown: string | undefined
    for (const m of set.members) {
      const setName = m.trim().split(/\s+/)[0] ?? ''
      const r = ipsetLookup(w, setName, directions, depth + 1)
      if ('ok' in r && r.ok) return r
      if ('unknown' in r) unknown ??= r.unknown
    }
    return unknown ? {unknown: `ipset ${name}: member ${unknown}`} : {ok: false}
  }
  const dims = (dimText ?? '').split(',')
  if (dims.length === 0 || dims[0] === '') return {unknown: `ipset ${name}: type "${set.type}" not understood`}
  if (directions.length < dims.length) return {unknown: `ipset ${name} (${set.type}) looked up with ${directions.length} direction(s) for ${dims.length} dimensions`}
  const fields: Array<(part: string) => boolean | undefined> = []
  for (let i = 0; i < dims.length; i++) {
    const f = dimMatcher(w, dims[i]!, directions[i]!, method === 'bitmap')
    if (typeof f === 'string') return {unknown: `ipset ${name} (${set.type}): ${f}`}
    fields.push(f)
  }
  // hash:net and friends: the most specific entry wins, and a `nomatch` entry excludes (ipset(8) "nomatch").
  let best: {m: Member; spec: number} | undefined
  for (const m of members(set.members)) {
    if (m.parts.length !== dims.length) continue
    let all = true
    for (let i = 0; i < dims.length; i++) {
      const r = fields[i]!(m.parts[i]!)
      if (r === undefined) return {unknown: `ipset ${name}: member "${m.parts.join(',')}" not understood`}
      if (!r) {
        all = false
        break
      }
    }
    if (!all) continue
    const spec = specificity(m)
    if (!best || spec > best.spec) best = {m, spec}
  }
  return {ok: best !== undefined && !best.m.nomatch}
}

function specificity(m: Member): number {
  let s = 0
  for (const p of m.parts) {
    const slash = p.indexOf('/')
    s += slash < 0 ? 128 : Number(p.slice(slash + 1))
  }
  return s
}

/** A test of one member part against the packet field the direction picks; a string says why it cannot be made. */
function dimMatcher(w: Walk, dim: string, dir: string, bitmap: boolean): ((part: string) => boolean | undefined) | string {
  const src = dir === 'src'
  if (dir !== 'src' && dir !== 'dst') return `direction "${dir}" not understood`
  const p = w.pkt
  switch (dim) {
    case 'ip':
    case 'net': {
      const a = parseIp(src ? p.src : p.dst)
      if (!a) return `packet address "${src ? p.src : p.dst}" not understood`
      return (part) => addrPartMatches(a, part)
    }
    case 'port': {
      const port = src ? p.sport : p.dport
      if (port === undefined) return `the packet's ${src ? 'source' : 'destination'} port is not given`
      const proto = protoNumber(p.proto)
      return (part) => {
        // `tcp:80`, `udp:53`, `80` (tcp by default; bitmap:port has no protocol and matches tcp and udp ports),
        // `tcp:8000-8080`
        const colon = part.indexOf(':')
        const protoText = colon < 0 ? (bitmap ? undefined : 'tcp') : part.slice(0, colon)
        const portText = colon < 0 ? part : part.slice(colon + 1)
        if (protoText !== undefined && protoNumber(protoText) !== proto) return false
        const [a, b] = portText.split('-')
        const from = Number(a)
        const to = b === undefined ? from : Number(b)
        if (!Number.isInteger(from) || !Number.isInteger(to)) return undefined
        return port >= from && port <= to
      }
    }
    case 'mark':
      return (part) => {
        const n = Number(part)
        return Number.isFinite(n) ? n >>> 0 === p.mark >>> 0 : undefined
      }
    case 'iface': {
      const dev = src ? p.iif : p.oif
      if (dev === undefined) return `the packet's ${src ? 'input' : 'output'} device is not given`
      return (part) => (part.startsWith('physdev:') ? undefined : part === dev)
    }
    default:
      return `dimension "${dim}" not evaluated`
  }
}

function addrPartMatches(a: Ip, part: string): boolean | undefined {
  const dash = part.indexOf('-')
  if (dash > 0 && !part.includes(':')) {
    const from = parseIp(part.slice(0, dash))
    const to = parseIp(part.slice(dash + 1))
    return from && to ? inRange(a, from, to) : undefined
  }
  const slash = part.indexOf('/')
  const base = parseIp(slash < 0 ? part : part.slice(0, slash))
  if (!base) return undefined
  if (base.bits !== a.bits) return false
  const len = slash < 0 ? base.bits : Number(part.slice(slash + 1))
  return Number.isInteger(len) ? inPrefix(a, base, len) : undefined
}
