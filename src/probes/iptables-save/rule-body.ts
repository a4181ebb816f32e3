
import type {Counters, IpFamily, XtAddress, XtCoreMatch, XtMatch, XtOption, XtTarget} from '../../model/netfilter.js'
import type {Bad} from './extension.js'
import {buildMatch} from './match.js'
import {buildTarget, type ChainNames} from './target.js'
import {isQuoted, type Words} from './tokenizer.js'
import {parseIface} from './values.js'
import {maskPrefixLength} from '../../util/ip.js'

const CORE_ALIASES: Readonly<Record<string, string>> = {
  '-s': '-s',
  '--source': '-s',
  '--src': '-s',
  '-d': '-d',
  '--destination': '-d',
  '--dst': '-d',
  '-p': '-p',
  '--protocol': '-p',
  '-i': '-i',
  '--in-interface': '-i',
  '-o': '-o',
  '--out-interface': '-o',
  '-f': '-f',
  '--fragment': '-f',
  '-m': '-m',
  '--match': '-m',
  '-j': '-j',
  '--jump': '-j',
  '-g': '-g',
  '--goto': '-g',
  '-c': '-c',
  '--set-counters': '-c',
}

/** Protocols whose match extension `-p X` loads implicitly (iptables(8) "match extensions"). */
const IMPLICIT_PROTO_MODULE: Readonly<Record<string, string>> = {
  tcp: 'tcp',
  udp: 'udp',
  udplite: 'udplite',
  sctp: 'sctp',
  dccp: 'dccp',
  icmp: 'icmp',
  icmpv6: 'icmp6',
  'ipv6-icmp': 'icmp6',
}

interface PendingModule {
  module: string
  implicit: boolean
  options: XtOption[]
}

export interface RuleBody {
  matches: XtMatch[]
  target?: XtTarget
  counters?: Counters
  comments: string[]
}

/** The -j/-g word of a rule, read without building its matches: what a chain graph needs of a rule. */
export function ruleJumpTarget(ws: Words, start: number): {name: string; goto: boolean} | undefined {
  const toks = ws.w
  let found: {name: string; goto: boolean} | undefined
  for (let i = start; i + 1 < toks.length; i++) {
    const t = toks[i]!
    if (isQuoted(ws, i) || t.charCodeAt(0) !== 45) continue
    const core = CORE_ALIASES[t]
    if (core !== '-j' && core !== '-g') continue
    const v = toks[i + 1]!
    if (!isQuoted(ws, i + 1) && v.startsWith('-')) continue
    // iptables takes the last -j/-g when a rule names two (the parser reports it)
    found = {name: v, goto: core === '-g'}
    i++
  }
  return found
}

/** The words after `-A CHAIN`: core matches, `-m` modules with their options, the target and its options; `!` negates the next option. One pass. */
export function parseRuleBody(ws: Words, start: number, chains: ChainNames, family: IpFamily, bad: Bad): RuleBody {
  const items: Array<XtCoreMatch | PendingModule> = []
  const body: RuleBody = {matches: [], comments: []}
  let neg = false
  let cur: PendingModule | undefined
  let target: {name: string; goto: boolean; options: XtOption[]} | undefined
  let inTarget = false
  let lastProto: string | undefined

  const toks = ws.w
  for (let i = start; i < toks.length; i++) {
    const t = toks[i]!
    const q = isQuoted(ws, i)
    if (!q && t === '!') {
      if (neg) bad('"!" twice')
      neg = true
      continue
    }
    const core = q || t.charCodeAt(0) !== 45 ? undefined : CORE_ALIASES[t]
    if (core !== undefined) {
      // The value of -s/-d/-p/-i/-o; pre-1.4.3 syntax put the "!" after the option: `-s ! 10.0.0.0/8`. Inline
      // rather than a closure: one that assigns `i` and `neg` would put them in a context for the whole loop.
      let v: string | undefined
      if (core === '-s' || core === '-d' || core === '-p' || core === '-i' || core === '-o') {
        v = toks[i + 1]
        if (v === '!' && !isQuoted(ws, i + 1)) {
          neg = true
          i++
          v = toks[i + 1]
        }
        if (v === undefined || (!isQuoted(ws, i + 1) && v.startsWith('-') && v.length > 1)) {
          bad(`${t} needs a value`)
          v = undefined
        } else i++
      }
      switch (core) {
        case '-s':
        case '-d': {
          if (v !== undefined) {
            const address = parseAddress(v, family)
            if (typeof address === 'string') bad(address)
            else items.push({kind: core === '-s' ? 'source' : 'destination', negated: neg, address})
          }
          cur = undefined
          inTarget = false
          break
        }
        case '-p': {
          if (v !== undefined) {
            lastProto = v.toLowerCase()
            items.push({kind: 'protocol', negated: neg, protocol: lastProto})
          }
          cur = undefined
          inTarget = false
          break
        }
        case '-i':
        case '-o': {
          if (v !== undefined) items.push({kind: core === '-i' ? 'in-interface' : 'out-interface', negated: neg, iface: parseIface(v)})
          cur = undefined
          inTarget = false
          break
        }
        case '-f':
          items.push({kind: 'fragment', negated: neg})
          cur = undefined
          inTarget = false
          break
        case '-m': {
          if (neg) bad('"!" before -m')
          v = toks[i + 1]
          if (v === undefined || (!isQuoted(ws, i + 1) && v.startsWith('-'))) {
            bad('-m needs a module name')
            break
          }
          i++
          cur = {module: v, implicit: false, options: []}
          items.push(cur)
          inTarget = false
          break
        }
        case '-j':
        case '-g': {
          if (neg) bad(`"!" before ${t}`)
          v = toks[i + 1]
          if (v === undefined || (!isQuoted(ws, i + 1) && v.startsWith('-'))) {
            bad(`${t} needs a target`)
            break
          }
          i++
          if (target) bad(`second target ${v} (already ${target.name})`)
          target = {name: v, goto: core === '-g', options: []}
          cur = undefined
          inTarget = true
          break
        }
        case '-c': {
          const p = toks[i + 1]
          const b = toks[i + 2]
          if (p !== undefined && b !== undefined && /^\d+$/.test(p) && /^\d+$/.test(b)) {
            body.counters = {packets: Number(p), bytes: Number(b)}
            i += 2
          } else bad('bad -c counters')
          break
        }
      }
      neg = false
      continue
    }
    if (!q && t.length > 2 && t.charCodeAt(0) === 45 && t.charCodeAt(1) === 45) {
      // An option of the current match module, of the target, or of the module `-p` loaded implicitly.
      let into: XtOption[] | undefined
      if (inTarget && target) into = target.options
      else if (cur) into = cur.options
      else if (lastProto && IMPLICIT_PROTO_MODULE[lastProto]) {
        cur = {module: IMPLICIT_PROTO_MODULE[lastProto]!, implicit: true, options: []}
        items.push(cur)
        into = cur.options
      }
      if (!into) {
        bad(`option ${t} outside a match module or target`)
        neg = false
        continue
      }
      const o: XtOption = {name: t.slice(2), negated: neg, values: []}
      neg = false
      while (i + 1 < toks.length) {
        const v = toks[i + 1]!
        const vq = isQuoted(ws, i + 1)
        if (!vq && v === '!') {
          // old syntax `--mark ! 0x1`; a "!" followed by an option negates that option instead
          const after = toks[i + 2]
          if (after !== undefined && o.values.length === 0 && (isQuoted(ws, i + 2) || !after.startsWith('-'))) {
            o.negated = true
            i++
            continue
          }
          break
        }
        if (!vq && v.length > 1 && v.charCodeAt(0) === 45) break
        o.values.push(v)
        i++
      }
      into.push(o)
      continue
    }
    bad(`unexpected word "${t}"`)
    neg = false
  }
  if (neg) bad('"!" at the end of the rule')

  for (const it of items) {
    if ('kind' in it) {
      body.matches.push(it)
      continue
    }
    const m = buildMatch(it.module, it.implicit, it.options, bad)
    body.matches.push(m)
    if (m.kind === 'comment') body.comments.push(m.text)
  }
  if (target) body.target = buildTarget(target.name, target.goto, target.options, chains, bad)
  return body
}

/** `10.0.0.0/8`, `1.2.3.4` (hand-written), `10.0.0.1/255.0.255.0`, `2001:db8::/32`. Returns an error string when bad. */
function parseAddress(v: string, family: IpFamily): XtAddress | string {
  if (v.includes(',')) return `"${v}": iptables expands comma-separated addresses into one rule each; a dump never has them`
  const slash = v.indexOf('/')
  const addr = slash < 0 ? v : v.slice(0, slash)
  const suffix = slash < 0 ? undefined : v.slice(slash + 1)
  const v6 = addr.includes(':')
  if (addr === '' || (!v6 && !/^[0-9.]+$/.test(addr) && !/^[A-Za-z0-9.-]+$/.test(addr))) return `bad address "${v}"`
  if (v6 && family === 'ipv4') return `IPv6 address "${v}" in an IPv4 dump`
  if (!v6 && family === 'ipv6' && /^[0-9.]+$/.test(addr)) return `IPv4 address "${v}" in an IPv6 dump`
  const max = v6 ? 128 : 32
  if (suffix === undefined) return {address: addr, prefixLen: max}
  if (/^\d+$/.test(suffix)) {
    const n = Number(suffix)
    if (n > max) return `prefix length ${n} too long in "${v}"`
    return {address: addr, prefixLen: n}
  }
  if (!v6 && /^\d+\.\d+\.\d+\.\d+$/.test(suffix)) {
    const len = maskPrefixLength(suffix)
    return len === undefined ? {address: addr, mask: suffix} : {address: addr, prefixLen: len}
  }
  if (v6 && suffix.includes(':')) return {address: addr, mask: suffix}
  return `bad prefix in "${v}"`
}

