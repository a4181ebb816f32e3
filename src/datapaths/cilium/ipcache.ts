/**
 * `cilium_ipcache` and `cilium_ipcache_v2`: which security identity and which tunnel endpoint (the node hosting
 * it) an address or prefix has. Raw bytes are decoded with the layouts below (x86-64/arm64 little-endian hosts;
 * addresses in network order, other numbers in host order), chosen by map name and value size; BTF-formatted
 * dumps are read by field name. A size no layout has is reported, never guessed.
 *
 * - key, 24 B, every version: u32 prefixlen (LPM, counts the 32 bits before the address), then
 *   bytes 4-6: pads (<= 1.12), or u16 pad + u8 cluster_id at 6 (the 1.14-era Key), or u16 cluster_id at 4 (the
 *   current Key); u8 family at byte 7 (1 IPv4, 2 IPv6); 16-byte address at byte 8. Cilium
 *   pkg/maps/ipcache/ipcache.go `Key` (its versions) and bpf/lib/eps.h `struct ipcache_key`.
 * - v1 value (`cilium_ipcache`), 12 B: u32 identity, be32 IPv4 tunnel endpoint, then bytes 8-11 that
 *   changed over time: Cilium <= 1.12 `{__u8 key}` at 8 (bpf/lib/common.h `struct remote_endpoint_info`
 *   {sec_label, tunnel_endpoint, key}); 1.14 `{__u16 node_id; __u8 key}` (node IDs, cilium/cilium#23202);
 *   the v1 value Cilium >= 1.18 reads back (`RemoteEndpointInfoV1`): u16 pad, u8 key at 10, u8 flags at 11.
 *   Padding is written as zeroes, so the bytes decide; only "byte 8 alone is non-zero" is ambiguous
 *   (key of <= 1.12, or node id of 1.14): that is reported and the key left out.
 * - v2 value (`cilium_ipcache_v2`, Cilium >= 1.18), 24 B: u32 identity, 16-byte tunnel endpoint,
 *   u16 pad, u8 key, u8 flags (bit 0 skiptunnel, 1 hastunnel, 2 ipv6tunnel, 3 remotecluster).
 */
import {dumpProbe, ffield, fnum, leBytes, parseMapDumpEntries, type DumpedMap, type DumpEntry} from '../../probes/bpftool-map.js'
import {problem} from '../../probes/parsed.js'
import type {Parsed, ParseProblem} from '../../model/warning.js'
import {faddr, familyOf, isZero, type IpFamily} from './addresses.js'
import {ipFromBytes} from '../../util/ip.js'
import {ciliumMapNameOf} from './map-names.js'
import {isJsonObject} from '../../util/json.js'

type CiliumIpcacheFlag = 'skiptunnel' | 'hastunnel' | 'ipv6tunnel' | 'remotecluster'
const IPCACHE_FLAGS: readonly CiliumIpcacheFlag[] = ['skiptunnel', 'hastunnel', 'ipv6tunnel', 'remotecluster']

export interface CiliumIpcacheEntry {
  /** e.g. '10.42.0.51/32', as `cilium map get cilium_ipcache` prints it. */
  prefix: string
  family: IpFamily
  address: string
  prefixLen: number
  /** Cluster mesh: entries of another cluster (absent when 0). */
  clusterId?: number
  /** Security identity (1 host, 2 world, 4 health, 6 remote-node, >= 256 allocated). */
  identity: number
  /** Node that hosts the address, for tunnelling; absent when 0.0.0.0 / no tunnel endpoint. */
  tunnelEndpoint?: string
  /** IPsec key index (encryptkey); absent only when the 12-byte value is ambiguous (see the layouts above). */
  encryptKey?: number
  /** Node id (12-byte values of Cilium 1.14 only, when non-zero). */
  nodeId?: number
  /** Flags, for layouts that have them (v2, and the v1 value of Cilium >= 1.15). */
  flags?: CiliumIpcacheFlag[]
  /** Which value layout decoded it: 'v1' (12 bytes, cilium_ipcache) or 'v2' (24 bytes, cilium_ipcache_v2). */
  layout: 'v1' | 'v2'
}

const IPCACHE_KEY_SIZE = 24
const IPCACHE_STATIC_PREFIX_BITS = 32
const IPCACHE_VALUE_SIZE = {v1: 12, v2: 24} as const

/** The ipcache layout of a map, by name and size; a problem for anything else. */
function ipcacheLayout(probe: string, map: DumpedMap | undefined, keyLen?: number, valueLen?: number): {layout?: 'v1' | 'v2'; problem?: ParseProblem} {
  const ks = map?.keySize ?? keyLen
  const vs = map?.valueSize ?? valueLen
  const byName = map?.name === undefined ? undefined : ciliumMapNameOf({name: map.name})
  if (ks !== undefined && ks !== IPCACHE_KEY_SIZE) return {problem: problem(probe, `ipcache key of ${ks} bytes: no known layout (expected ${IPCACHE_KEY_SIZE})`)}
  if (vs === undefined) return {}
  const layout = vs === IPCACHE_VALUE_SIZE.v1 ? 'v1' : vs === IPCACHE_VALUE_SIZE.v2 ? 'v2' : undefined
  if (!layout) return {problem: problem(probe, `ipcache value of ${vs} bytes: no known layout (12 for cilium_ipcache, 24 for cilium_ipcache_v2)`)}
  if ((byName === 'cilium_ipcache' && layout !== 'v1') || (byName === 'cilium_ipcache_v2' && layout !== 'v2')) {
    return {problem: problem(probe, `${byName} with ${vs}-byte values: no known layout`)}
  }
  return {layout}
}

function ipcacheKey(probe: string, e: DumpEntry): {family: IpFamily; addr: Buffer; prefixLen: number; clusterId: number} | ParseProblem {
  let prefixlen: number | undefined
  let famNum: number | undefined
  let addr: Buffer | undefined
  let clusterId = 0
  if (e.key) {
    if (e.key.length !== IPCACHE_KEY_SIZE) return problem(probe, `ipcache key of ${e.key.length} bytes: no known layout (expected ${IPCACHE_KEY_SIZE})`, undefined, e.raw)
    prefixlen = e.key.readUInt32LE(0)
    const cid16 = e.key.readUInt16LE(4)
    const cid8 = e.key.readUInt8(6)
    // >= 1.15: u16 cluster_id at 4; 1.13-1.14: u8 cluster_id at 6; the other is padding (zero).
    if (cid16 !== 0 && cid8 !== 0) return problem(probe, `ipcache key bytes 4-6 (${e.key.subarray(4, 7).toString('hex')}) fit no known layout`, undefined, e.raw)
    clusterId = cid16 || cid8
    famNum = e.key.readUInt8(7)
    addr = e.key.subarray(8, 24)
  } else {
    const k = e.fkey
    prefixlen = ffield(isJsonObject(k?.lpm_key) ? k.lpm_key : undefined, 'prefixlen') ?? ffield(k, 'prefixlen')
    famNum = ffield(k, 'family')
    clusterId = ffield(k, 'cluster_id') ?? 0
    addr = faddr(k)
  }
  const family = familyOf(famNum)
  if (!family) return problem(probe, `ipcache key with unknown family ${famNum}`, undefined, e.raw)
  if (prefixlen === undefined || !addr) return problem(probe, 'ipcache key lacks prefixlen or address', undefined, e.raw)
  const bits = prefixlen - IPCACHE_STATIC_PREFIX_BITS
  if (bits < 0 || bits > (family === 'ipv4' ? 32 : 128)) return problem(probe, `ipcache key prefixlen ${prefixlen} is out of range for ${family}`, undefined, e.raw)
  return {family, addr, prefixLen: bits, clusterId}
}

function flagList(bits: number): CiliumIpcacheFlag[] {
  return IPCACHE_FLAGS.filter((_, i) => (bits & (1 << i)) !== 0)
}

/** The 12-byte v1 value's bytes 8-11 (see the file comment). */
function ipcacheV1Tail(b: Buffer): {encryptKey?: number; nodeId?: number; flags?: number; ambiguous?: string} {
  const [b8, b9, b10, b11] = [b.readUInt8(8), b.readUInt8(9), b.readUInt8(10), b.readUInt8(11)]
  if (b8 === 0 && b9 === 0) return {encryptKey: b10, ...(b11 !== 0 ? {flags: b11} : {})}
  if (b9 !== 0 || b10 !== 0 || b11 !== 0) return {nodeId: b.readUInt16LE(8), encryptKey: b10, ...(b11 !== 0 ? {flags: b11} : {})}
  return {ambiguous: `byte 8 is ${b8}: the IPsec key in Cilium <= 1.12, the node id in 1.14; the key is left out`}
}

/**
 * `bpftool -j map dump id N` of cilium_ipcache or cilium_ipcache_v2. Raw form, e.g. (Cilium 1.12, no BTF)
 * `{"key":["0x40","0x00","0x00","0x00","0x00","0x00","0x00","0x01","0x0a","0x2a","0x00","0x33",…],"value":["0x9d","0x3d","0x00","0x00","0xc0","0xa8","0x01","0x0d","0x00","0x00","0x00","0x00"]}`
 * = `10.42.0.51/32 identity=15773 encryptkey=0 tunnelendpoint=192.168.1.13`.
 */
export function parseCiliumIpcacheDump(text: string, map?: DumpedMap): Parsed<CiliumIpcacheEntry[]> {
  const probe = dumpProbe(map, 'cilium_ipcache')
  const {entries, problems} = parseMapDumpEntries(probe, text)
  const facts: CiliumIpcacheEntry[] = []
  const first = entries[0]
  const {layout: mapLayout, problem: lp} = ipcacheLayout(probe, map, first?.key?.length, first?.value?.length)
  if (lp) return {facts, problems: [...problems, lp]}
  for (const e of entries) {
    const k = ipcacheKey(probe, e)
    if ('message' in k) {
      problems.push(k)
      continue
    }
    let layout = mapLayout
    if (e.value && layout === undefined) layout = e.value.length === 12 ? 'v1' : e.value.length === 24 ? 'v2' : undefined
    if (e.value && layout !== undefined && e.value.length !== IPCACHE_VALUE_SIZE[layout]) {
      problems.push(problem(probe, `ipcache value of ${e.value.length} bytes in a map of ${IPCACHE_VALUE_SIZE[layout]}-byte values`, undefined, e.raw))
      continue
    }
    let identity: number | undefined
    let tep: Buffer | undefined
    let tepFamily: IpFamily = 'ipv4'
    let tail: ReturnType<typeof ipcacheV1Tail> = {}
    if (e.value) {
      if (layout === undefined) {
        problems.push(problem(probe, `ipcache value of ${e.value.length} bytes: no known layout (12 for cilium_ipcache, 24 for cilium_ipcache_v2)`, undefined, e.raw))
        continue
      }
      identity = e.value.readUInt32LE(0)
      if (layout === 'v1') {
        tep = e.value.subarray(4, 8)
        tail = ipcacheV1Tail(e.value)
      } else {
        const flags = e.value.readUInt8(23)
        tepFamily = (flags & 4) !== 0 ? 'ipv6' : 'ipv4'
        tep = tepFamily === 'ipv6' ? e.value.subarray(4, 20) : e.value.subarray(4, 8)
        tail = {encryptKey: e.value.readUInt8(22), flags}
      }
    } else {
      const v = e.fvalue
      identity = ffield(v, 'sec_identity', 'sec_label')
      const te = v?.tunnel_endpoint
      if (layout === undefined) layout = isJsonObject(te) ? 'v2' : 'v1'
      const bits = IPCACHE_FLAGS.reduce((acc, _f, i) => acc | ((ffield(v, ['flag_skip_tunnel', 'flag_has_tunnel_ep', 'flag_ipv6_tunnel_ep', 'flag_remote_cluster'][i]!) ?? 0) << i), 0)
      const hasFlags = v !== undefined && 'flag_has_tunnel_ep' in v
      if (isJsonObject(te)) {
        tepFamily = (bits & 4) !== 0 ? 'ipv6' : 'ipv4'
        const a = faddr(te)
        tep = a && (tepFamily === 'ipv6' ? a : a.subarray(0, 4))
      } else if (fnum(te) !== undefined) tep = leBytes(fnum(te)!, 4)
      const nodeId = ffield(v, 'node_id')
      tail = {encryptKey: ffield(v, 'key'), ...(hasFlags ? {flags: bits} : {}), ...(nodeId ? {nodeId} : {})}
    }
    if (identity === undefined || !tep) {
      problems.push(problem(probe, 'ipcache value lacks identity or tunnel endpoint', undefined, e.raw))
      continue
    }
    const entry: CiliumIpcacheEntry = {
      prefix: `${ipFromBytes(k.family, k.addr)}/${k.prefixLen}`,
      family: k.family,
      address: ipFromBytes(k.family, k.addr),
      prefixLen: k.prefixLen,
      identity,
      layout: layout ?? 'v1',
    }
    if (k.clusterId) entry.clusterId = k.clusterId
    if (!isZero(tep)) entry.tunnelEndpoint = ipFromBytes(tepFamily, tep)
    if (tail.encryptKey !== undefined) entry.encryptKey = tail.encryptKey
    if (tail.nodeId) entry.nodeId = tail.nodeId
    if (tail.flags !== undefined && (layout === 'v2' || tail.flags !== 0 || !e.value)) {
      entry.flags = flagList(tail.flags)
      if (tail.flags >= 16) problems.push(problem(probe, `${entry.prefix}: unknown ipcache flag bits 0x${tail.flags.toString(16)}`, undefined, e.raw))
    }
    if (tail.ambiguous) problems.push(problem(probe, `${entry.prefix}: ${tail.ambiguous}`, undefined, e.raw))
    facts.push(entry)
  }
  return {facts, problems}
}
