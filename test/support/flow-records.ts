/**
 * The lab's flow recordings, read and decoded (test support): every lab BPF program counts the packets it sees
 * in the pinned hash map nilab_flows. This file mirrors the byte layout of lab/bpf/nilab.h (struct ni_flow_key /
 * ni_flow_value, enum ni_hook; the sizes are in src/lab/recording.ts, which creates the map): change all together.
 */
import {FLOW_KEY_SIZE, FLOW_VALUE_SIZE} from '../../src/lab/recording.js'
import {labTopology, type FlowHook, type LabTopology, type NodeName} from '../../src/lab/topology.js'
import {runCommand} from '../../src/source/run-command.js'
import {formatIp} from '../../src/util/ip.js'

/** enum ni_hook in lab/bpf/nilab.h. */
const FLOW_HOOKS: Readonly<Record<number, FlowHook>> = {
  1: 'from-container',
  2: 'to-container',
  3: 'from-overlay',
  4: 'to-overlay',
  5: 'from-netdev',
  6: 'to-netdev',
  7: 'xdp',
  8: 'foreign',
}

/** key.flags bit: the packet was VXLAN-encapsulated; the key holds the inner flow. */
const FLOW_FLAG_ENCAP = 0x01

const PROTOS: Readonly<Record<number, string>> = {1: 'icmp', 6: 'tcp', 17: 'udp'}

export interface FlowRecord {
  /** Node id from the key (1, 2) and its lab name when known. */
  nodeId: number
  node?: NodeName
  hook: FlowHook | `unknown-${number}`
  ifindex: number
  devname?: string
  saddr: string
  daddr: string
  sport: number
  dport: number
  /** 'tcp' | 'udp' | 'icmp' | the protocol number as a string. */
  proto: string
  protoNumber: number
  packets: number
  /** skb->mark as the hook saw it on entry (0 for XDP, which has no mark). */
  firstMark: number
  lastMark: number
  /** Seen as VXLAN on the wire (eth0 hooks): the addresses and ports are the inner flow's. */
  encapsulated: boolean
}

/** Device name for an ifindex in a node's netns, from the topology (the lab pins every ifindex). */
export function devnameOf(topo: LabTopology, node: NodeName | number, ifindex: number): string | undefined {
  const n = topo.nodes.find((x) => x.name === node || x.id === node)
  if (!n) return undefined
  const dev = Object.values(n.devices).find((d) => d.ifindex === ifindex)
  if (dev) return dev.name
  return topo.pods.find((p) => p.node === n.name && p.lxc.ifindex === ifindex)?.lxc.name
}

/** bpftool -j byte arrays: ["0x02","0x07",...]. */
function bytesOf(hex: unknown): Buffer | undefined {
  if (!Array.isArray(hex)) return undefined
  const out = Buffer.alloc(hex.length)
  for (let i = 0; i < hex.length; i++) {
    const h = hex[i]
    if (typeof h !== 'string' || !/^0x[0-9a-f]{1,2}$/i.test(h)) return undefined
    out[i] = Number.parseInt(h.slice(2), 16)
  }
  return out
}

/**
 * Decode one raw key/value pair. Throws on a size mismatch (a different map or layout).
 */
export function decodeFlowEntry(key: Buffer, value: Buffer, topo?: LabTopology): FlowRecord {
  if (key.length !== FLOW_KEY_SIZE) throw new Error(`flow key has ${key.length} bytes, expected ${FLOW_KEY_SIZE}`)
  if (value.length !== FLOW_VALUE_SIZE) throw new Error(`flow value has ${value.length} bytes, expected ${FLOW_VALUE_SIZE}`)
  const nodeId = key.readUInt8(0)
  const hookId = key.readUInt8(1)
  const protoNumber = key.readUInt8(2)
  const flags = key.readUInt8(3)
  const ifindex = key.readUInt32LE(4)
  const node = topo?.nodes.find((n) => n.id === nodeId)
  const devname = topo ? devnameOf(topo, nodeId, ifindex) : undefined
  const rec: FlowRecord = {
    nodeId,
    ...(node ? {node: node.name} : {}),
    hook: FLOW_HOOKS[hookId] ?? `unknown-${hookId}`,
    ifindex,
    ...(devname !== undefined ? {devname} : {}),
    saddr: formatIp('ipv4', key, 8),
    daddr: formatIp('ipv4', key, 12),
    sport: key.readUInt16BE(16),
    dport: key.readUInt16BE(18),
    proto: PROTOS[protoNumber] ?? String(protoNumber),
    protoNumber,
    packets: Number(value.readBigUInt64LE(0)),
    firstMark: value.readUInt32LE(8),
    lastMark: value.readUInt32LE(12),
    encapsulated: (flags & FLOW_FLAG_ENCAP) !== 0,
  }
  return rec
}

/**
 * Decode `bpftool -j map dump` output (raw "key"/"value" byte arrays; "formatted" is ignored).
 */
export function parseFlowMapDump(json: string, topo?: LabTopology): FlowRecord[] {
  const entries = JSON.parse(json) as unknown
  if (!Array.isArray(entries)) {
    const err = (entries as {error?: string} | null)?.error
    throw new Error(`bpftool map dump: ${err ?? 'unexpected output'}`)
  }
  const out: FlowRecord[] = []
  for (const e of entries as Array<{key?: unknown; value?: unknown; error?: string}>) {
    if (e.error !== undefined) throw new Error(`bpftool map dump: ${e.error}`)
    const key = bytesOf(e.key)
    const value = bytesOf(e.value)
    if (!key || !value) throw new Error('bpftool map dump: an entry without raw key/value bytes')
    out.push(decodeFlowEntry(key, value, topo))
  }
  return sortFlowRecords(out)
}

const HOOK_ORDER: readonly string[] = Object.values(FLOW_HOOKS)

/** Stable order: node, then the hook order of the enum, then ifindex, then the flow. */
function sortFlowRecords(records: FlowRecord[]): FlowRecord[] {
  return [...records].sort(
    (a, b) =>
      a.nodeId - b.nodeId ||
      HOOK_ORDER.indexOf(a.hook) - HOOK_ORDER.indexOf(b.hook) ||
      a.ifindex - b.ifindex ||
      a.saddr.localeCompare(b.saddr) ||
      a.daddr.localeCompare(b.daddr) ||
      a.sport - b.sport ||
      a.dport - b.dport ||
      a.protoNumber - b.protoNumber ||
      Number(a.encapsulated) - Number(b.encapsulated),
  )
}

export interface FlowFilter {
  saddr?: string
  daddr?: string
  sport?: number
  dport?: number
  proto?: string
  /** Also match the reverse direction (replies). */
  bidirectional?: boolean
}

export function matchFlow(r: FlowRecord, f: FlowFilter): boolean {
  const fwd = (f.saddr === undefined || r.saddr === f.saddr) && (f.daddr === undefined || r.daddr === f.daddr) && (f.sport === undefined || r.sport === f.sport) && (f.dport === undefined || r.dport === f.dport)
  const rev = !!f.bidirectional && (f.saddr === undefined || r.daddr === f.saddr) && (f.daddr === undefined || r.saddr === f.daddr) && (f.sport === undefined || r.dport === f.sport) && (f.dport === undefined || r.sport === f.dport)
  return (f.proto === undefined || r.proto === f.proto) && (fwd || rev)
}

/**
 * Dump the lab's flow map: `bpftool -j map dump pinned <lab bpffs>/tc/globals/nilab_flows`.
 * Pass the lab prefix (default: nilab) or an explicit pin path. Throws a one-line Error on failure.
 */
export async function readFlowRecords(opts: {prefix?: string; pinPath?: string; filter?: FlowFilter} = {}): Promise<FlowRecord[]> {
  const topo = labTopology(opts.prefix)
  const pin = opts.pinPath ?? topo.flowMapPin
  const argv = ['bpftool', '-j', 'map', 'dump', 'pinned', pin]
  const out = await runCommand({file: 'bpftool', args: argv.slice(1), logicalArgv: argv, timeoutMs: 10_000})
  if (out.failure) throw new Error(out.message ?? `${argv.join(' ')} failed`)
  const records = parseFlowMapDump(out.stdout, topo)
  return opts.filter ? records.filter((r) => matchFlow(r, opts.filter!)) : records
}
