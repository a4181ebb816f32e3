import {bytesPrefixMatch, ipToBytes} from '../../util/ip.js'
import type {CiliumIpcacheEntry} from './ipcache.js'

/** Longest-prefix match, as the datapath's LPM lookup does (static key bits must match: family and cluster id). */
export function lookupIpcache(entries: readonly CiliumIpcacheEntry[], ip: string, clusterId = 0): CiliumIpcacheEntry | undefined {
  const want = ipToBytes(ip)
  if (!want) return undefined
  let best: CiliumIpcacheEntry | undefined
  for (const e of entries) {
    if (e.family !== want.family || (e.clusterId ?? 0) !== clusterId) continue
    if (best && best.prefixLen >= e.prefixLen) continue
    const have = ipToBytes(e.address)
    if (have && bytesPrefixMatch(have.bytes, want.bytes, e.prefixLen)) best = e
  }
  return best
}
