/**
 * bpftool's map commands: `bpftool -j map show` (every map in the kernel: maps are global, not per netns) and
 * `bpftool -j map dump id N` (one map's entries), with the pure parsers every datapath's map reader builds on.
 *
 * bpftool prints a map's bytes as `"key": ["0x0a", …]` always, plus `"formatted"` objects when the map carries
 * BTF. A plain `bpftool map dump` of a BTF map prints only the objects, as `"key": {…}`. The entry decoder
 * accepts all three; a datapath's layouts decode the bytes (or read the formatted fields) by map name and size.
 */
import {parseJson, problem, rawJson} from './parsed.js'
import {asArray, num} from './bpftool-net.js'
import type {BpfMapInfo, ProgArrayEntry} from '../model/bpf-map.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import {isJsonObject} from '../util/json.js'

/** `bpftool -j map show`: every map in the kernel (maps are global, not per netns). */
export const BPFTOOL_MAP_SHOW_ARGV = ['bpftool', '-j', 'map', 'show'] as const
const SHOW_PROBE = 'bpftool -j map show'

export const bpftoolMapDumpArgv = (id: number): string[] => ['bpftool', '-j', 'map', 'dump', 'id', String(id)]

/** A long bpftool dump (a big ipcache is tens of MB of JSON, each byte printed as "0x..") gets this long. */
export const MAP_DUMP_TIMEOUT_MS = 60_000

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

/** The kernel keeps 15 characters of a map name (BPF_OBJ_NAME_LEN 16 with the NUL): cilium_call_policy is `cilium_call_pol`. */
const KERNEL_OBJ_NAME_MAX = 15

/** Whether a kernel map name is `full`, whole or cut to the kernel's 15 characters. */
export function mapNameIs(kernelName: string, full: string): boolean {
  return kernelName === full || (kernelName.length === KERNEL_OBJ_NAME_MAX && full.length > KERNEL_OBJ_NAME_MAX && full.startsWith(kernelName))
}

/** One dumped entry: raw key/value bytes and/or the BTF-formatted objects, with the entry's JSON for problems. */
export interface DumpEntry {
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

export function parseMapDumpEntries(probe: string, text: string): {entries: DumpEntry[]; problems: ParseProblem[]} {
  const {value, problem: p} = parseBpftoolJson(probe, text)
  if (p) return {entries: [], problems: [p]}
  if (!Array.isArray(value)) {
    const err = isJsonObject(value) ? value.error : undefined
    return {entries: [], problems: [problem(probe, typeof err === 'string' ? `bpftool error: ${err}` : 'expected a list of entries')]}
  }
  const entries: DumpEntry[] = []
  const problems: ParseProblem[] = []
  for (const e of value) {
    const raw = rawJson(e)
    if (!isJsonObject(e)) {
      problems.push(problem(probe, 'entry is not an object', undefined, raw))
      continue
    }
    if (typeof e.error === 'string') {
      problems.push(problem(probe, `bpftool error: ${e.error}`, undefined, raw))
      continue
    }
    if (isJsonObject(e.value) && typeof e.value.error === 'string') {
      problems.push(problem(probe, `bpftool could not read an entry: ${e.value.error}`, undefined, raw))
      continue
    }
    const d: DumpEntry = {raw}
    const key = hexBytes(e.key)
    const val = hexBytes(e.value)
    if (key) d.key = key
    if (val) d.value = val
    const f = isJsonObject(e.formatted) ? e.formatted : e
    if (isJsonObject(f.key)) d.fkey = f.key
    if (isJsonObject(f.value)) d.fvalue = f.value
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
export function fnum(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return Number.parseInt(v.slice(2), 16)
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v)
  return undefined
}

export function ffield(o: Record<string, unknown> | undefined, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = fnum(o?.[n])
    if (v !== undefined) return v
  }
  return undefined
}

/** A u32 printed in host order whose bytes are an address in network order (little-endian host). */
export function leBytes(n: number, len: number): Buffer {
  const b = Buffer.alloc(len)
  let x = BigInt(n)
  for (let i = 0; i < len; i++) {
    b[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return b
}

/** A dump's size against a layout: a problem when the map (or the first entry) has other key or value sizes. */
export function sizeProblem(probe: string, what: string, map: DumpedMap | undefined, entry: DumpEntry | undefined, keySize: number, valueSize: number): ParseProblem | undefined {
  const ks = map?.keySize ?? entry?.key?.length
  const vs = map?.valueSize ?? entry?.value?.length
  if (ks !== undefined && ks !== keySize) return problem(probe, `${what} key of ${ks} bytes: no known layout (expected ${keySize})`)
  if (vs !== undefined && vs !== valueSize) return problem(probe, `${what} value of ${vs} bytes: no known layout (expected ${valueSize})`)
  return undefined
}

export function dumpProbe(map: DumpedMap | undefined, what: string): string {
  return map?.id !== undefined ? `bpftool -j map dump id ${map.id} (${map.name})` : `bpftool -j map dump (${map?.name ?? what})`
}

/** `bpftool -j map dump id N` of a prog array, e.g. `[{"key":["0x0a","0x0b","0x00","0x00"],"value":["0x4c","0x05","0x00","0x00"]}]` = slot 2826 -> prog 1356. */
export function parseProgArrayDump(text: string, map?: DumpedMap): Parsed<ProgArrayEntry[]> {
  const probe = dumpProbe(map, 'prog array')
  const {entries, problems} = parseMapDumpEntries(probe, text)
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
