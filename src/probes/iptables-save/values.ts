/** How iptables-save prints option values (numbers, ports, marks, lists, ranges), read into typed fields. */
import {parseU32, tryParseMarkSpec, type Mark} from '../../model/mark.js'
import type {PortMatch, PortRange, ValueSet, XtInterface, XtOption} from '../../model/netfilter.js'
import type {Bad, ExtensionOptions} from './extension.js'

export function splitList(v: string | undefined): string[] {
  return v === undefined || v === '' ? [] : v.split(',')
}

/** `--ctstate RELATED,ESTABLISHED`, `! --src-type LOCAL`. */
export function valueSet(x: ExtensionOptions, o: XtOption): ValueSet {
  return {negated: o.negated, values: splitList(x.one(o))}
}

export function intValue(v: string | undefined, bad: Bad, what: string): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) {
    bad(`${what} "${v ?? ''}" is not a number`)
    return undefined
  }
  return Number(v)
}

/** `-i eth0` (exact) or `-i eni+` (prefix). */
export function parseIface(v: string): XtInterface {
  return v.endsWith('+') ? {name: v.slice(0, -1), wildcard: true} : {name: v, wildcard: false}
}

/** One port (`--on-port 15001`). */
export function portNumber(s: string, bad: Bad, what: string): number | undefined {
  if (!/^\d+$/.test(s)) {
    bad(`${what}: port "${s}" is not a number (iptables-save prints numbers)`)
    return undefined
  }
  const n = Number(s)
  if (n > 65535) {
    bad(`${what}: port ${n} out of range`)
    return undefined
  }
  return n
}

/** `80`, `1000:2000`, `:1024`, `1024:`; multiport adds commas: `80,443,8000:8080`. */
export function portMatch(x: ExtensionOptions, o: XtOption, multi: boolean): PortMatch {
  const what = `${x.what} --${o.name}`
  const v = x.one(o) ?? ''
  const parts = multi ? v.split(',') : [v]
  if (!multi && v.includes(',')) x.bad(`${what}: a list needs -m multiport`)
  const ranges: PortRange[] = []
  for (const part of parts) {
    const r = portRange(part, ':', x.bad, what)
    if (r) ranges.push(r)
  }
  return {negated: o.negated, ranges}
}

/** `1000:2000` (matches) or `1000-2000` (NAT targets), either end optional. */
export function portRange(part: string, sep: string, bad: Bad, what: string): PortRange | undefined {
  const idx = part.indexOf(sep)
  if (idx < 0) {
    const n = portNumber(part, bad, what)
    return n === undefined ? undefined : {from: n, to: n}
  }
  const a = part.slice(0, idx)
  const b = part.slice(idx + 1)
  const from = a === '' ? 0 : portNumber(a, bad, what)
  const to = b === '' ? 65535 : portNumber(b, bad, what)
  if (from === undefined || to === undefined) return undefined
  if (from > to) bad(`${what}: range ${part} is reversed`)
  return {from, to}
}

/** `0x4000/0x4000` or `0x539`. */
export function markValue(x: ExtensionOptions, o: XtOption): Mark | undefined {
  const v = x.one(o)
  if (v === undefined) return undefined
  const r = tryParseMarkSpec(v)
  if ('error' in r) {
    x.bad(`${x.what} --${o.name}: ${r.error.message}`)
    return undefined
  }
  return r.mark
}

export function u32Value(x: ExtensionOptions, o: XtOption): number | undefined {
  const v = x.one(o)
  if (v === undefined) return undefined
  const r = parseU32(v)
  if ('reason' in r) {
    x.bad(`${x.what} --${o.name}: ${r.detail}`)
    return undefined
  }
  return r.value
}
