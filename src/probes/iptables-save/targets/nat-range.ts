import type {NatRange} from '../../../model/netfilter.js'
import type {Bad} from '../extension.js'
import {portRange} from '../values.js'

/** `10.0.0.1`, `10.0.0.1:80`, `10.0.0.1-10.0.0.5:1000-2000`, `[2001:db8::1]:80`, `2001:db8::1`, `:8080`. */
export function natRange(v: string, bad: Bad, what: string): NatRange | undefined {
  let addrs = v
  let ports: string | undefined
  if (v.startsWith('[')) {
    // ip6tables prints `[addr]:port` (and `[a]-[b]:port`) when a port is given
    const close = v.lastIndexOf(']')
    if (close < 0) {
      bad(`${what}: bad address "${v}"`)
      return undefined
    }
    addrs = v.slice(0, close + 1).replace(/[[\]]/g, '')
    const rest = v.slice(close + 1)
    if (rest.startsWith(':')) ports = rest.slice(1)
    else if (rest !== '') {
      bad(`${what}: bad address "${v}"`)
      return undefined
    }
  } else {
    const colons = (v.match(/:/g) ?? []).length
    if (colons === 1) {
      const i = v.indexOf(':')
      addrs = v.slice(0, i)
      ports = v.slice(i + 1)
    }
  }
  const r: NatRange = {}
  if (addrs !== '') {
    const dash = addrs.indexOf('-')
    r.addressFrom = dash < 0 ? addrs : addrs.slice(0, dash)
    r.addressTo = dash < 0 ? addrs : addrs.slice(dash + 1)
  }
  if (ports !== undefined) {
    const p = portRange(ports, '-', bad, what)
    if (p) r.ports = p
  }
  if (r.addressFrom === undefined && r.ports === undefined) {
    bad(`${what}: empty range "${v}"`)
    return undefined
  }
  return r
}
