/**
 * Cilium's datapath maps, read with `bpftool -j map show` and `bpftool -j map dump id N`: the ipcache (which
 * identity and which tunnel endpoint an address has), the local endpoints (`cilium_lxc`), the old tunnel map
 * and the policy tail-call array (`cilium_call_policy`, endpoint id -> the endpoint's to-container program).
 *
 * bpftool prints a map's bytes as `"key": ["0x0a", …]` always, plus `"formatted"` objects when the map carries
 * BTF (Cilium 1.12's maps, created by iproute2's loader, carry none). A plain `bpftool map dump` of a BTF map
 * prints only the objects, as `"key": {…}`. The parsers accept all three and decode raw bytes with the layouts
 * below, chosen by map name and key/value size; a size no layout has is reported, never guessed.
 *
 * Layouts (x86-64/arm64 little-endian hosts; addresses in network order, other numbers in host order):
 * - ipcache key, 24 B, every version: u32 prefixlen (LPM, counts the 32 bits before the address), then
 *   bytes 4-6: pads (<= 1.12), or u16 pad + u8 cluster_id at 6 (the 1.14-era Key), or u16 cluster_id at 4 (the
 *   current Key); u8 family at byte 7 (1 IPv4, 2 IPv6); 16-byte address at byte 8. Cilium
 *   pkg/maps/ipcache/ipcache.go `Key` (its versions) and bpf/lib/eps.h `struct ipcache_key`.
 * - ipcache v1 value (`cilium_ipcache`), 12 B: u32 identity, be32 IPv4 tunnel endpoint, then bytes 8-11 that
 *   changed over time: Cilium <= 1.12 `{__u8 key}` at 8 (bpf/lib/common.h `struct remote_endpoint_info`
 *   {sec_label, tunnel_endpoint, key}); 1.14 `{__u16 node_id; __u8 key}` (node IDs, cilium/cilium#23202);
 *   the v1 value Cilium >= 1.18 reads back (`RemoteEndpointInfoV1`): u16 pad, u8 key at 10, u8 flags at 11.
 *   Padding is written as zeroes, so the bytes decide; only "byte 8 alone is non-zero" is ambiguous
 *   (key of <= 1.12, or node id of 1.14): that is reported and the key left out.
 * - ipcache v2 value (`cilium_ipcache_v2`, Cilium >= 1.18), 24 B: u32 identity, 16-byte tunnel endpoint,
 *   u16 pad, u8 key, u8 flags (bit 0 skiptunnel, 1 hastunnel, 2 ipv6tunnel, 3 remotecluster).
 * - endpoint_key (`cilium_lxc` key, and key and value of the <= 1.12 tunnel map), 20 B: 16-byte address,
 *   u8 family, u8 key, then cluster_id u8 (newer) or pad. tunnel_key/tunnel_value (1.13+ tunnel map) have the
 *   same size: byte 17 is cluster_id (key) or the IPsec key (value), bytes 18-19 the node id (value).
 * - endpoint_info (`cilium_lxc` value), 48 B: u32 ifindex, u16 unused, u16 lxc_id (the endpoint id), u32
 *   flags (1 host, 2 at host netns, 4/8 no-SNAT v4/v6), mac at 16 and node_mac at 24 (6 bytes each in a u64),
 *   sec_id at 32 and parent_ifindex at 36 in newer versions (zero before).
 * - `cilium_call_policy`: prog array, u32 endpoint id -> u32 program id (bpftool prints the id).
 */
import type {BpfProgram} from '../model/hooks.js'
import type {RawOutput, Source} from '../source/types.js'
import {asArray, BPFTOOL_NET_ARGV, num, parseBpftoolNetJson} from './bpftool-net.js'
import {BPFTOOL_PROG_ARGV, parseBpftoolProgJson} from './bpftool-prog.js'
import {parseJson, problem, rawJson} from './parsed.js'
import type {Parsed, ParseProblem, Warning} from '../model/warning.js'
import {formatIp, parseIpAddress, parsePrefix, prefixContains} from '../util/ip.js'

// ---------------------------------------------------------------------------------------------------------
// bpftool -j map show

/** `bpftool -j map show`: every map in the kernel (maps are global, not per netns). */
export const BPFTOOL_MAP_SHOW_ARGV = ['bpftool', '-j', 'map', 'show'] as const
const SHOW_PROBE = 'bpftool -j map show'

export const bpftoolMapDumpArgv = (id: number): string[] => ['bpftool', '-j', 'map', 'dump', 'id', String(id)]

export interface BpfMapInfo {
  id: number
  /** bpftool's name for the type: 'hash', 'lpm_trie', 'prog_array'… (a number as a string when bpftool does not know it). */
  type: string
  /** The kernel's name: at most 15 characters (BPF_OBJ_NAME_LEN 16 with the NUL); '' when the map has none. */
  name: string
  keySize: number
  valueSize: number
  maxEntries: number
  flags: number
  btfId?: number
  /** Pin paths, printed only with `bpftool -f`. */
  pinned?: string[]
  /** Prog arrays: the program type that owns the array once a program uses it, e.g. 'sched_cls'. */
  ownerProgType?: string
}

/** e.g. `{"id":102,"type":"lpm_trie","name":"cilium_ipcache","flags":1,"bytes_key":24,"bytes_value":12,"max_entries":512000,"bytes_memlock":0,"frozen":0}` */
export function parseBpftoolMapShow(text: string): Parsed<BpfMapInfo[]> {
  const {value, problem: p} = parseJson(SHOW_PROBE, text)
  if (p) return {facts: [], problems: [p]}
  if (!Array.isArray(value)) {
    const err = (value as {error?: unknown} | null)?.error
    return {facts: [], problems: [problem(SHOW_PROBE, typeof err === 'string' ? `bpftool error: ${err}` : 'expected a list of maps')]}
  }
  const facts: BpfMapInfo[] = []
  const problems: ParseProblem[] = []
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    const id = num(e.id)
    const keySize = num(e.bytes_key)
    const valueSize = num(e.bytes_value)
    const type = typeof e.type === 'string' ? e.type : num(e.type) !== undefined ? String(e.type) : undefined
    if (id === undefined || type === undefined || keySize === undefined || valueSize === undefined) {
      problems.push(problem(SHOW_PROBE, 'map entry lacks id, type, bytes_key or bytes_value', undefined, rawJson(v)))
      continue
    }
    const m: BpfMapInfo = {id, type, name: typeof e.name === 'string' ? e.name : '', keySize, valueSize, maxEntries: num(e.max_entries) ?? 0, flags: num(e.flags) ?? 0}
    if (num(e.btf_id) !== undefined) m.btfId = num(e.btf_id)
    const pins = asArray(e.pinned).filter((x): x is string => typeof x === 'string')
    if (pins.length > 0) m.pinned = pins
    if (typeof e.owner_prog_type === 'string') m.ownerProgType = e.owner_prog_type
    facts.push(m)
  }
  return {facts, problems}
}

// ---------------------------------------------------------------------------------------------------------
// Which maps are Cilium's

export const CILIUM_MAP_NAMES = ['cilium_ipcache_v2', 'cilium_ipcache', 'cilium_lxc', 'cilium_tunnel_map', 'cilium_call_policy'] as const
export type CiliumMapName = (typeof CILIUM_MAP_NAMES)[number]

/** The kernel keeps 15 characters of a map name: cilium_ipcache_v2 is `cilium_ipcache_`, cilium_call_policy `cilium_call_pol`. */
export const KERNEL_OBJ_NAME_MAX = 15

/** The Cilium map a kernel map is, by its (possibly cut) name or, failing that, a pin's file name. */
export function ciliumMapNameOf(m: Pick<BpfMapInfo, 'name' | 'pinned'>): CiliumMapName | undefined {
  for (const full of CILIUM_MAP_NAMES) {
    if (m.name === full || (m.name.length === KERNEL_OBJ_NAME_MAX && full.length > KERNEL_OBJ_NAME_MAX && full.startsWith(m.name))) return full
  }
  for (const pin of m.pinned ?? []) {
    const base = pin.slice(pin.lastIndexOf('/') + 1)
    if ((CILIUM_MAP_NAMES as readonly string[]).includes(base)) return base as CiliumMapName
  }
  return undefined
}

/** Why this map of a name was read when the kernel holds several (e.g. left over by an earlier agent, or one per lab node). */
export type CiliumMapChoiceReason = 'only-one' | 'attached' | 'tail-call-family' | 'newest'

export interface CiliumMapChoice {
  name: CiliumMapName
  map: BpfMapInfo
  /** Ids of every map of this name in the kernel, ascending. */
  candidateIds: number[]
  reason: CiliumMapChoiceReason
  /** Programs (attached here, or sharing a cilium_calls array with one) whose map_ids hold the chosen map. */
  usedByProgIds: number[]
  /** How sure it is that this netns' datapath uses the chosen map: used by an attached program, by one of their tail-call family, or no evidence. */
  evidence: 'attached' | 'tail-call-family' | 'none'
  /** One line for the report when the choice was not obvious. */
  note?: string
}

/**
 * Pick one map per Cilium name. Maps are global, so on a lab with two nodes (or a node where an old agent's
 * maps linger) there are several: take the one the programs attached in this netns use (their map_ids);
 * else one used by a program that shares a `cilium_calls*` prog array with them (Cilium's entry programs
 * reach most maps through tail calls, which share the object's calls array); else the newest id, and say so.
 */
export function selectCiliumMaps(maps: readonly BpfMapInfo[], programs: readonly BpfProgram[], attachedProgIds: readonly number[]): CiliumMapChoice[] {
  const attached = new Set(attachedProgIds)
  const attachedProgs = programs.filter((p) => attached.has(p.id))
  const callsArrays = new Set(maps.filter((m) => m.type === 'prog_array' && m.name.startsWith('cilium_calls') && attachedProgs.some((p) => p.mapIds.includes(m.id))).map((m) => m.id))
  const family = programs.filter((p) => attached.has(p.id) || p.mapIds.some((id) => callsArrays.has(id)))
  const users = (m: BpfMapInfo, progs: readonly BpfProgram[]) => progs.filter((p) => p.mapIds.includes(m.id)).map((p) => p.id)
  const newest = (ms: BpfMapInfo[]) => ms.reduce((a, b) => (b.id > a.id ? b : a))
  const out: CiliumMapChoice[] = []
  for (const name of CILIUM_MAP_NAMES) {
    const cands = maps.filter((m) => ciliumMapNameOf(m) === name).sort((a, b) => a.id - b.id)
    if (cands.length === 0) continue
    const candidateIds = cands.map((m) => m.id)
    const direct = cands.filter((m) => users(m, attachedProgs).length > 0)
    const fam = cands.filter((m) => users(m, family).length > 0)
    let map: BpfMapInfo
    let reason: CiliumMapChoiceReason
    let note: string | undefined
    if (cands.length === 1) {
      map = cands[0]!
      reason = 'only-one'
      if (attached.size > 0 && fam.length === 0) note = `${name} (map ${map.id}) is not in the map_ids of the programs attached here nor of their tail-call family`
    } else if (direct.length > 0) {
      map = newest(direct)
      reason = 'attached'
      if (direct.length > 1) note = `${direct.length} maps named ${name} (${direct.map((m) => m.id).join(', ')}) are used by programs attached here: read the newest, ${map.id}`
    } else if (fam.length > 0) {
      map = newest(fam)
      reason = 'tail-call-family'
      note = `${cands.length} maps named ${name} (${candidateIds.join(', ')}): read ${map.id}, used by programs sharing a cilium_calls array with the attached ones`
    } else {
      map = newest(cands)
      reason = 'newest'
      note = `${cands.length} maps named ${name} (${candidateIds.join(', ')}) and none is used by a program attached here: read the newest, ${map.id}`
    }
    const evidence = users(map, attachedProgs).length > 0 ? 'attached' : users(map, family).length > 0 ? 'tail-call-family' : 'none'
    const c: CiliumMapChoice = {name, map, candidateIds, reason, usedByProgIds: users(map, family), evidence}
    if (note !== undefined) c.note = note
    out.push(c)
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------
// bpftool -j map dump: the entries, raw bytes and/or BTF-formatted objects

interface DumpEntry {
  key?: Buffer
  value?: Buffer
  /** BTF-formatted key and value (from "formatted", or the plain-mode objects). */
  fkey?: Record<string, unknown>
  fvalue?: Record<string, unknown>
  raw: string
}

/** The map a dump came from, when known: the layout is chosen from it. */
export interface DumpedMap {
  name: string
  keySize: number
  valueSize: number
  id?: number
}

function hexBytes(v: unknown): Buffer | undefined {
  if (!Array.isArray(v)) return undefined
  const out = Buffer.alloc(v.length)
  for (let i = 0; i < v.length; i++) {
    const h = v[i]
    if (typeof h !== 'string' || !/^(0x)?[0-9a-f]{1,2}$/i.test(h)) return undefined
    out[i] = Number.parseInt(h.replace(/^0x/i, ''), 16)
  }
  return out
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * bpftool's JSON. Its plain (non -j) dump of a BTF map is JSON too, except bitfields, printed bare:
 * `"flag_has_tunnel_ep": 0x1,` (bpftool 7.1). Those are quoted before parsing.
 */
function parseBpftoolJson(probe: string, text: string): {value?: unknown; problem?: ParseProblem} {
  const first = parseJson(probe, text)
  if (!first.problem || !/[:[,]\s*0x[0-9a-f]+\s*[,}\]]/i.test(text)) return first
  const again = parseJson(probe, text.replace(/([:[,]\s*)(0x[0-9a-f]+)(?=\s*[,}\]])/gi, '$1"$2"'))
  return again.problem ? first : again
}

function dumpEntries(probe: string, text: string): {entries: DumpEntry[]; problems: ParseProblem[]} {
  const {value, problem: p} = parseBpftoolJson(probe, text)
  if (p) return {entries: [], problems: [p]}
  if (!Array.isArray(value)) {
    const err = isObj(value) ? value.error : undefined
    return {entries: [], problems: [problem(probe, typeof err === 'string' ? `bpftool error: ${err}` : 'expected a list of entries')]}
  }
  const entries: DumpEntry[] = []
  const problems: ParseProblem[] = []
  for (const e of value) {
    const raw = rawJson(e)
    if (!isObj(e)) {
      problems.push(problem(probe, 'entry is not an object', undefined, raw))
      continue
    }
    if (typeof e.error === 'string') {
      problems.push(problem(probe, `bpftool error: ${e.error}`, undefined, raw))
      continue
    }
    if (isObj(e.value) && typeof e.value.error === 'string') {
      problems.push(problem(probe, `bpftool could not read an entry: ${e.value.error}`, undefined, raw))
      continue
    }
    const d: DumpEntry = {raw}
    const key = hexBytes(e.key)
    const val = hexBytes(e.value)
    if (key) d.key = key
    if (val) d.value = val
    const f = isObj(e.formatted) ? e.formatted : e
    if (isObj(f.key)) d.fkey = f.key
    if (isObj(f.value)) d.fvalue = f.value
    // Prog arrays carry plain numbers when formatted.
    if (!d.key && !d.fkey && typeof f.key === 'number') d.fkey = {'': f.key}
    if (!d.value && !d.fvalue && typeof f.value === 'number') d.fvalue = {'': f.value}
    if ((!d.key || !d.value) && (!d.fkey || !d.fvalue)) {
      problems.push(problem(probe, 'entry has neither raw key/value bytes nor formatted key/value', undefined, raw))
      continue
    }
    entries.push(d)
  }
  return {entries, problems}
}

/** A number from a BTF-formatted field: bpftool prints bitfields as "0x1". */
function fnum(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return Number.parseInt(v.slice(2), 16)
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v)
  return undefined
}

function ffield(o: Record<string, unknown> | undefined, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = fnum(o?.[n])
    if (v !== undefined) return v
  }
  return undefined
}

/** A u32 printed in host order whose bytes are an address in network order (little-endian host). */
function leBytes(n: number, len: number): Buffer {
  const b = Buffer.alloc(len)
  let x = BigInt(n)
  for (let i = 0; i < len; i++) {
    b[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return b
}

/** The 16 address bytes of a formatted address union: its `addr` array, else its `ip4` (IPv4 in the first four bytes). */
function faddr(o: unknown, depth = 0): Buffer | undefined {
  if (!isObj(o) || depth > 4) return undefined
  const a = o.addr
  if (Array.isArray(a) && a.length === 16 && a.every((x) => typeof x === 'number')) return Buffer.from(a as number[])
  for (const v of Object.values(o)) {
    const found = faddr(v, depth + 1)
    if (found) return found
  }
  const ip4 = fnum(o.ip4)
  return ip4 === undefined ? undefined : Buffer.concat([leBytes(ip4, 4), Buffer.alloc(12)])
}

// ---------------------------------------------------------------------------------------------------------
// Addresses

export type IpFamily = 'ipv4' | 'ipv6'

/** Cilium's ENDPOINT_KEY_IPV4 / ENDPOINT_KEY_IPV6. */
function familyOf(n: number | undefined): IpFamily | undefined {
  return n === 1 ? 'ipv4' : n === 2 ? 'ipv6' : undefined
}

const isZero = (b: Buffer) => b.every((x) => x === 0)
const macStr = (b: Buffer, off: number) => Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':')

// ---------------------------------------------------------------------------------------------------------
// cilium_ipcache / cilium_ipcache_v2

export type CiliumIpcacheFlag = 'skiptunnel' | 'hastunnel' | 'ipv6tunnel' | 'remotecluster'
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
    prefixlen = ffield(isObj(k?.lpm_key) ? k.lpm_key : undefined, 'prefixlen') ?? ffield(k, 'prefixlen')
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
  const {entries, problems} = dumpEntries(probe, text)
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
      if (layout === undefined) layout = isObj(te) ? 'v2' : 'v1'
      const bits = IPCACHE_FLAGS.reduce((acc, _f, i) => acc | ((ffield(v, ['flag_skip_tunnel', 'flag_has_tunnel_ep', 'flag_ipv6_tunnel_ep', 'flag_remote_cluster'][i]!) ?? 0) << i), 0)
      const hasFlags = v !== undefined && 'flag_has_tunnel_ep' in v
      if (isObj(te)) {
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
      prefix: `${formatIp(k.family, k.addr)}/${k.prefixLen}`,
      family: k.family,
      address: formatIp(k.family, k.addr),
      prefixLen: k.prefixLen,
      identity,
      layout: layout ?? 'v1',
    }
    if (k.clusterId) entry.clusterId = k.clusterId
    if (!isZero(tep)) entry.tunnelEndpoint = formatIp(tepFamily, tep)
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

/** Longest-prefix match, as the datapath's LPM lookup does (static key bits must match: family and cluster id). */
export function lookupIpcache(entries: readonly CiliumIpcacheEntry[], ip: string, clusterId = 0): CiliumIpcacheEntry | undefined {
  const want = parseIpAddress(ip)
  if (!want) return undefined
  let best: CiliumIpcacheEntry | undefined
  for (const e of entries) {
    if (e.family !== want.family || (e.clusterId ?? 0) !== clusterId) continue
    if (best && best.prefixLen >= e.prefixLen) continue
    const p = parsePrefix(`${e.address}/${e.prefixLen}`, e.family)
    if (p && prefixContains(p, ip)) best = e
  }
  return best
}

// ---------------------------------------------------------------------------------------------------------
// cilium_lxc

export interface CiliumEndpoint {
  ip: string
  family: IpFamily
  /** The endpoint key's `key` field, printed after the colon by Cilium (`10.42.0.51:0`). */
  keyIndex: number
  clusterId?: number
  /** lxc_id: Cilium's endpoint id, also the endpoint's slot in cilium_call_policy. */
  endpointId: number
  /** The host-side device (lxc…) of the endpoint. */
  ifindex: number
  /** The pod's own MAC (its eth0). */
  mac: string
  /** The host-side device's MAC. */
  nodeMac: string
  flags: number
  /** ENDPOINT_F_HOST: an address of the node itself (`(localhost)` in `cilium bpf endpoint list`). */
  isHost: boolean
  /** sec_id of newer versions, when non-zero. */
  securityIdentity?: number
  parentIfindex?: number
}

const ENDPOINT_KEY_SIZE = 20
const ENDPOINT_INFO_SIZE = 48

function sizeProblem(probe: string, what: string, map: DumpedMap | undefined, entry: DumpEntry | undefined, keySize: number, valueSize: number): ParseProblem | undefined {
  const ks = map?.keySize ?? entry?.key?.length
  const vs = map?.valueSize ?? entry?.value?.length
  if (ks !== undefined && ks !== keySize) return problem(probe, `${what} key of ${ks} bytes: no known layout (expected ${keySize})`)
  if (vs !== undefined && vs !== valueSize) return problem(probe, `${what} value of ${vs} bytes: no known layout (expected ${valueSize})`)
  return undefined
}

function endpointKey(probe: string, e: DumpEntry, what: string): {family: IpFamily; addr: Buffer; b17: number; b18: number} | ParseProblem {
  let famNum: number | undefined
  let addr: Buffer | undefined
  let b17 = 0
  let b18 = 0
  if (e.key) {
    if (e.key.length !== ENDPOINT_KEY_SIZE) return problem(probe, `${what} key of ${e.key.length} bytes: no known layout (expected ${ENDPOINT_KEY_SIZE})`, undefined, e.raw)
    addr = e.key.subarray(0, 16)
    famNum = e.key.readUInt8(16)
    b17 = e.key.readUInt8(17)
    b18 = e.key.readUInt8(18)
  } else {
    famNum = ffield(e.fkey, 'family')
    addr = faddr(e.fkey)
    b17 = ffield(e.fkey, 'key', 'cluster_id') ?? 0
    b18 = 'key' in (e.fkey ?? {}) ? (ffield(e.fkey, 'cluster_id') ?? 0) : 0
  }
  const family = familyOf(famNum)
  if (!family || !addr) return problem(probe, `${what} key with unknown family ${famNum}`, undefined, e.raw)
  return {family, addr, b17, b18}
}

/**
 * `bpftool -j map dump id N` of cilium_lxc, e.g. the raw form of SCENARIO's node-2 entry
 * `10.42.0.51:0 id=2826 flags=0x0000 ifindex=29 mac=96:86:44:A6:37:EC nodemac=D2:AD:65:4D:D0:7B`:
 * key `0a 2a 00 33` + 12 zero bytes + `01 00 00 00`, value `1d 00 00 00 00 00 0a 0b 00 00 00 00 …`.
 */
export function parseCiliumLxcDump(text: string, map?: DumpedMap): Parsed<CiliumEndpoint[]> {
  const probe = dumpProbe(map, 'cilium_lxc')
  const {entries, problems} = dumpEntries(probe, text)
  const facts: CiliumEndpoint[] = []
  const sp = sizeProblem(probe, 'cilium_lxc', map, entries[0], ENDPOINT_KEY_SIZE, ENDPOINT_INFO_SIZE)
  if (sp) return {facts, problems: [...problems, sp]}
  for (const e of entries) {
    const k = endpointKey(probe, e, 'cilium_lxc')
    if ('message' in k) {
      problems.push(k)
      continue
    }
    let ifindex: number | undefined
    let endpointId: number | undefined
    let flags: number | undefined
    let mac: Buffer | undefined
    let nodeMac: Buffer | undefined
    let secId = 0
    let parent = 0
    if (e.value) {
      if (e.value.length !== ENDPOINT_INFO_SIZE) {
        problems.push(problem(probe, `cilium_lxc value of ${e.value.length} bytes: no known layout (expected ${ENDPOINT_INFO_SIZE})`, undefined, e.raw))
        continue
      }
      ifindex = e.value.readUInt32LE(0)
      endpointId = e.value.readUInt16LE(6)
      flags = e.value.readUInt32LE(8)
      mac = e.value.subarray(16, 22)
      nodeMac = e.value.subarray(24, 30)
      secId = e.value.readUInt32LE(32)
      parent = e.value.readUInt32LE(36)
    } else {
      const v = e.fvalue
      ifindex = ffield(v, 'ifindex')
      endpointId = ffield(v, 'lxc_id')
      flags = ffield(v, 'flags')
      const m = ffield(v, 'mac')
      const nm = ffield(v, 'node_mac')
      if (m !== undefined) mac = leBytes(m, 6)
      if (nm !== undefined) nodeMac = leBytes(nm, 6)
      secId = ffield(v, 'sec_id') ?? 0
      parent = ffield(v, 'parent_ifindex') ?? 0
    }
    if (ifindex === undefined || endpointId === undefined || flags === undefined || !mac || !nodeMac) {
      problems.push(problem(probe, 'cilium_lxc value lacks ifindex, lxc_id, flags or a MAC', undefined, e.raw))
      continue
    }
    const ep: CiliumEndpoint = {
      ip: formatIp(k.family, k.addr),
      family: k.family,
      keyIndex: k.b17,
      endpointId,
      ifindex,
      mac: macStr(mac, 0),
      nodeMac: macStr(nodeMac, 0),
      flags,
      isHost: (flags & 1) !== 0,
    }
    if (k.b18) ep.clusterId = k.b18
    if (secId) ep.securityIdentity = secId
    if (parent) ep.parentIfindex = parent
    facts.push(ep)
  }
  return {facts, problems}
}

// ---------------------------------------------------------------------------------------------------------
// cilium_tunnel_map (Cilium <= 1.14-ish: remote pod CIDR -> node)

export interface CiliumTunnelEntry {
  /** The key address: a remote node's pod CIDR base address (the datapath masks the destination first). */
  ip: string
  family: IpFamily
  /** Key byte 17: cluster_id in 1.14's tunnel_key (the endpoint_key's `key` of <= 1.12, left 0 there). */
  clusterId?: number
  tunnelEndpoint: string
  encryptKey: number
  /** Value bytes 18-19 (tunnel_value.node_id, 1.13+), when non-zero. */
  nodeId?: number
}

/** `bpftool -j map dump id N` of cilium_tunnel_map: key and value both 20 bytes (endpoint_key, or tunnel_key/tunnel_value). */
export function parseCiliumTunnelDump(text: string, map?: DumpedMap): Parsed<CiliumTunnelEntry[]> {
  const probe = dumpProbe(map, 'cilium_tunnel_map')
  const {entries, problems} = dumpEntries(probe, text)
  const facts: CiliumTunnelEntry[] = []
  const sp = sizeProblem(probe, 'cilium_tunnel_map', map, entries[0], ENDPOINT_KEY_SIZE, ENDPOINT_KEY_SIZE)
  if (sp) return {facts, problems: [...problems, sp]}
  for (const e of entries) {
    const k = endpointKey(probe, e, 'cilium_tunnel_map')
    if ('message' in k) {
      problems.push(k)
      continue
    }
    let vfam: IpFamily | undefined
    let vaddr: Buffer | undefined
    let encryptKey = 0
    let nodeId = 0
    if (e.value) {
      if (e.value.length !== ENDPOINT_KEY_SIZE) {
        problems.push(problem(probe, `cilium_tunnel_map value of ${e.value.length} bytes: no known layout (expected ${ENDPOINT_KEY_SIZE})`, undefined, e.raw))
        continue
      }
      vfam = familyOf(e.value.readUInt8(16))
      vaddr = e.value.subarray(0, 16)
      encryptKey = e.value.readUInt8(17)
      nodeId = e.value.readUInt16LE(18)
    } else {
      vfam = familyOf(ffield(e.fvalue, 'family'))
      vaddr = faddr(e.fvalue)
      encryptKey = ffield(e.fvalue, 'key') ?? 0
      nodeId = ffield(e.fvalue, 'node_id') ?? 0
    }
    if (!vfam || !vaddr) {
      problems.push(problem(probe, 'cilium_tunnel_map value with unknown family', undefined, e.raw))
      continue
    }
    const t: CiliumTunnelEntry = {ip: formatIp(k.family, k.addr), family: k.family, tunnelEndpoint: formatIp(vfam, vaddr), encryptKey}
    const cid = e.key ? k.b17 : (ffield(e.fkey, 'cluster_id') ?? 0)
    if (cid) t.clusterId = cid
    if (nodeId) t.nodeId = nodeId
    facts.push(t)
  }
  return {facts, problems}
}

// ---------------------------------------------------------------------------------------------------------
// Prog arrays (cilium_call_policy)

export interface ProgArrayEntry {
  /** The slot: for cilium_call_policy, the endpoint id. */
  key: number
  /** The program in the slot (bpftool prints the id, not the fd the array holds in the kernel). */
  progId: number
}

/** `bpftool -j map dump id N` of a prog array, e.g. `[{"key":["0x0a","0x0b","0x00","0x00"],"value":["0x4c","0x05","0x00","0x00"]}]` = slot 2826 -> prog 1356. */
export function parseProgArrayDump(text: string, map?: DumpedMap): Parsed<ProgArrayEntry[]> {
  const probe = dumpProbe(map, 'prog array')
  const {entries, problems} = dumpEntries(probe, text)
  const facts: ProgArrayEntry[] = []
  const sp = sizeProblem(probe, 'prog array', map, entries[0], 4, 4)
  if (sp) return {facts, problems: [...problems, sp]}
  for (const e of entries) {
    let key: number | undefined
    let progId: number | undefined
    if (e.key && e.value) {
      if (e.key.length !== 4 || e.value.length !== 4) {
        problems.push(problem(probe, `prog array entry of ${e.key.length}/${e.value.length} bytes: expected 4/4`, undefined, e.raw))
        continue
      }
      key = e.key.readUInt32LE(0)
      progId = e.value.readUInt32LE(0)
    } else {
      key = ffield(e.fkey, '')
      progId = ffield(e.fvalue, '', 'id')
    }
    if (key === undefined || progId === undefined) {
      problems.push(problem(probe, 'prog array entry lacks a key or a program id', undefined, e.raw))
      continue
    }
    facts.push({key, progId})
  }
  facts.sort((a, b) => a.key - b.key)
  return {facts, problems}
}

function dumpProbe(map: DumpedMap | undefined, what: string): string {
  return map?.id !== undefined ? `bpftool -j map dump id ${map.id} (${map.name})` : `bpftool -j map dump (${map?.name ?? what})`
}

// ---------------------------------------------------------------------------------------------------------
// Collecting

export interface CollectCiliumMapsOptions {
  /**
   * Ids of the programs attached in the Source's netns (bpftool net show plus tcx/netkit from the helper), used
   * to tell this node's maps from others of the same name. When absent, `bpftool -j net show` is run for them.
   */
  attachedProgIds?: readonly number[]
  /** Only these maps (default: all five names). */
  maps?: readonly CiliumMapName[]
}

export interface CiliumMaps {
  /** Every map in the kernel with a Cilium name read here (all candidates, chosen or not). */
  found: BpfMapInfo[]
  /** The map read for each name present, and why it. */
  selected: CiliumMapChoice[]
  /**
   * From the ipcache map the datapath here uses: of cilium_ipcache_v2 and cilium_ipcache, the one with the
   * stronger evidence (see CiliumMapChoice.evidence), v2 when equal.
   */
  ipcache: CiliumIpcacheEntry[]
  ipcacheMap?: 'cilium_ipcache' | 'cilium_ipcache_v2'
  endpoints: CiliumEndpoint[]
  tunnels: CiliumTunnelEntry[]
  /** cilium_call_policy: endpoint id -> to-container program id. */
  policyCalls: ProgArrayEntry[]
  /** Program ids taken as attached in this netns. */
  attachedProgIds: number[]
  notes: string[]
  warnings: Warning[]
}

const MAX_PROBLEMS_PER_PROBE = 5
const DUMP_TIMEOUT_MS = 60_000

function takeParsed<T>(probe: string, out: RawOutput | undefined, parse: (o: RawOutput) => Parsed<T>, empty: T, warnings: Warning[]): T {
  if (!out) return empty
  if (out.failure) {
    warnings.push({probe, kind: out.failure, message: out.message ?? `${probe}: failed`})
    return empty
  }
  const parsed = parse(out)
  for (const p of parsed.problems.slice(0, MAX_PROBLEMS_PER_PROBE)) warnings.push({probe, kind: 'parse', message: `${p.probe}: ${p.message}`})
  if (parsed.problems.length > MAX_PROBLEMS_PER_PROBE) warnings.push({probe, kind: 'parse', message: `${probe}: ${parsed.problems.length - MAX_PROBLEMS_PER_PROBE} more parse problems not shown`})
  return parsed.facts
}

/**
 * Read Cilium's maps with a constant number of processes: `bpftool -j map show`, `bpftool -j prog show` (and
 * `bpftool -j net show` when the attached program ids are not given) in parallel, then one
 * `bpftool -j map dump id N` per Cilium map name present, in parallel. Decoding is done by the pure parsers.
 */
export async function collectCiliumMaps(src: Source, opts: CollectCiliumMapsOptions = {}): Promise<CiliumMaps> {
  const warnings: Warning[] = []
  const notes: string[] = []
  const [showOut, progOut, netOut] = await Promise.all([
    src.run({argv: BPFTOOL_MAP_SHOW_ARGV}),
    src.run({argv: BPFTOOL_PROG_ARGV}),
    opts.attachedProgIds ? Promise.resolve(undefined) : src.run({argv: BPFTOOL_NET_ARGV}),
  ])
  const maps = takeParsed(SHOW_PROBE, showOut, (o) => parseBpftoolMapShow(o.stdout), [] as BpfMapInfo[], warnings)
  const programs = takeParsed('bpftool -j prog show', progOut, (o) => parseBpftoolProgJson(o.stdout), [] as BpfProgram[], warnings)
  const attachedProgIds = opts.attachedProgIds
    ? [...opts.attachedProgIds]
    : [...new Set(takeParsed('bpftool -j net show', netOut, (o) => parseBpftoolNetJson(o.stdout), {attachments: [], flowDissectorProgIds: [], netfilterProgs: 0}, warnings).attachments.map((a) => a.progId))]
  const wanted = new Set<CiliumMapName>(opts.maps ?? CILIUM_MAP_NAMES)
  const found = maps.filter((m) => {
    const n = ciliumMapNameOf(m)
    return n !== undefined && wanted.has(n)
  })
  const selected = selectCiliumMaps(found, programs, attachedProgIds)
  for (const c of selected) if (c.note) notes.push(c.note)
  if (found.length === 0 && showOut.failure === undefined) notes.push('no Cilium maps in the kernel (cilium_ipcache, cilium_lxc, cilium_call_policy…)')

  // A big ipcache is tens of MB of bpftool JSON (each byte printed as "0x..").
  const dumps = await Promise.all(selected.map((c) => src.run({argv: bpftoolMapDumpArgv(c.map.id), timeoutMs: DUMP_TIMEOUT_MS})))
  const result: CiliumMaps = {found, selected, ipcache: [], endpoints: [], tunnels: [], policyCalls: [], attachedProgIds, notes, warnings}
  selected.forEach((c, i) => {
    const out = dumps[i]
    const dm: DumpedMap = {name: c.name, keySize: c.map.keySize, valueSize: c.map.valueSize, id: c.map.id}
    const probe = `bpftool -j map dump id ${c.map.id}`
    switch (c.name) {
      case 'cilium_ipcache_v2':
      case 'cilium_ipcache': {
        const entries = takeParsed(probe, out, (o) => parseCiliumIpcacheDump(o.stdout, dm), [] as CiliumIpcacheEntry[], warnings)
        if (c === preferredIpcache(selected)) {
          result.ipcache = entries
          result.ipcacheMap = c.name
        }
        break
      }
      case 'cilium_lxc':
        result.endpoints = takeParsed(probe, out, (o) => parseCiliumLxcDump(o.stdout, dm), [] as CiliumEndpoint[], warnings)
        break
      case 'cilium_tunnel_map':
        result.tunnels = takeParsed(probe, out, (o) => parseCiliumTunnelDump(o.stdout, dm), [] as CiliumTunnelEntry[], warnings)
        break
      case 'cilium_call_policy':
        result.policyCalls = takeParsed(probe, out, (o) => parseProgArrayDump(o.stdout, dm), [] as ProgArrayEntry[], warnings)
        break
    }
  })
  const both = selected.filter((c) => c.name === 'cilium_ipcache' || c.name === 'cilium_ipcache_v2')
  if (both.length === 2) {
    const used = preferredIpcache(selected)!
    notes.push(`both cilium_ipcache (map ${both[1]!.map.id}) and cilium_ipcache_v2 (map ${both[0]!.map.id}) exist: read ${used.name}, ${used.evidence === 'none' ? 'the map of Cilium >= 1.18 (no program here shows which is used)' : `the one the programs here use`}`)
  }
  return result
}

const EVIDENCE_RANK = {attached: 2, 'tail-call-family': 1, none: 0} as const

/** Of the two ipcache maps, the one the datapath here uses: stronger evidence first, v2 (Cilium >= 1.18) when equal. */
function preferredIpcache(selected: readonly CiliumMapChoice[]): CiliumMapChoice | undefined {
  const v2 = selected.find((c) => c.name === 'cilium_ipcache_v2')
  const v1 = selected.find((c) => c.name === 'cilium_ipcache')
  if (!v1 || !v2) return v2 ?? v1
  return EVIDENCE_RANK[v1.evidence] > EVIDENCE_RANK[v2.evidence] ? v1 : v2
}
