/**
 * Observing real packets in the lab: send one probe from a pod, trace it through a node's netfilter with
 * `nft monitor trace`, and put the flow recordings of the lab's BPF programs (nilab_flows) in the order the
 * packet crossed them. The parsers and the ordering are pure (tested on captures in testdata/lab/); the I/O
 * functions only run tools inside the lab's own namespaces.
 *
 * Path order (flowPath). The recordings are a set of counters without timestamps, so the order comes from the
 * datapath itself. Within one node a packet meets the lab's hooks in this order:
 *   1 xdp (eth0, driver)  2 foreign (tcx ingress, before clsact)  3 from-netdev (eth0/eth1 tc ingress)
 *   4 from-overlay (cilium_vxlan ingress, decapsulated)  5 from-container (lxc tc/tcx ingress, leaving the pod)
 *   6 to-container (tail call: delivery to a pod of this node)  7 to-overlay (cilium_vxlan egress)
 *   8 to-netdev (eth0/eth1 tc egress; VXLAN-encapsulated on eth0)
 * and nodes come in the order the packet reached them: first the node where it entered the lab (a pod's
 * from-container there, or a from-netdev that is not VXLAN), then the nodes it reached over the overlay. So the
 * forward direction of curl -> httpbin is: node1 lxc from-container -> cilium_vxlan to-overlay -> eth0 to-netdev
 * -> node2 eth0 xdp -> foreign tcx -> from-netdev -> cilium_vxlan from-overlay -> to-container (httpbin's lxc);
 * curl -> nginx (same node) is node1 from-container -> to-container.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {labAsset, LabError, labRun, labTry, netnsFile} from './exec.js'
import {readFlowRecords, type FlowRecord} from './recording.js'
import {labTopology, type FlowHook, type NodeName} from './topology.js'

// ---------------------------------------------------------------------------------------------------------------
// Probes

export type ProbeProto = 'tcp' | 'udp'

export interface ProbeRequest {
  /** A lab pod's short name: curl, nginx, httpbin, redis. */
  fromPod: string
  dst: string
  dport: number
  proto?: ProbeProto
  /** Source port to bind (default: the kernel's choice). Fixing it lets a trace match exactly this flow. */
  sport?: number
  /** Give up after this long (default 2000 ms): a dropped SYN only ends by timing out. */
  timeoutMs?: number
}

export interface ProbeResult {
  /** TCP: the handshake completed (an HTTP answer may follow); UDP: an answer came back. */
  connected: boolean
  proto: ProbeProto
  fromPod: string
  /** The pod's address: the flow's source before any NAT. */
  src: string
  /** The source port the flow used (known even when the connection failed). */
  localPort: number
  dst: string
  dport: number
  /** ETIMEDOUT-like text, ECONNREFUSED, … */
  error?: string
  /** The peer address the listener saw (lab/httpd.mjs answers with it): behind a masquerade, the node's address. */
  peerSeen?: {address: string; port: number}
  httpStatus?: number
  ms: number
}

interface ProbeJson {
  connected?: boolean
  local?: string
  peerSeen?: string
  status?: number
  error?: string
  ms?: number
}

function splitHostPort(s: string | undefined): {address: string; port: number} | undefined {
  const m = /^(.*):(\d+)$/.exec(s ?? '')
  return m ? {address: m[1]!, port: Number(m[2])} : undefined
}

/** Parse lab/probe.mjs's one line of JSON into a ProbeResult (pure). */
export function parseProbeOutput(stdout: string, req: ProbeRequest & {src: string}): ProbeResult {
  const line = stdout.trim().split('\n').pop() ?? ''
  let j: ProbeJson
  try {
    j = JSON.parse(line) as ProbeJson
  } catch {
    throw new Error(`probe: unexpected output: ${line.slice(0, 200)}`)
  }
  const local = splitHostPort(j.local)
  const peer = splitHostPort(j.peerSeen)
  const r: ProbeResult = {
    connected: j.connected === true,
    proto: req.proto ?? 'tcp',
    fromPod: req.fromPod,
    src: req.src,
    localPort: local?.port ?? 0,
    dst: req.dst,
    dport: req.dport,
    ms: j.ms ?? 0,
  }
  if (j.error !== undefined) r.error = j.error
  if (peer) r.peerSeen = peer
  if (j.status !== undefined) r.httpStatus = j.status
  return r
}

const IPV4_RE = /^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/
const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536

/**
 * A real TCP connection (with one HTTP GET) or UDP datagram from inside a lab pod's netns, bounded in time
 * (lab/probe.mjs). Never throws for a failed connection: `connected: false` with the reason; the source port is
 * known either way, so the exact flow can be found in the recordings and traces.
 */
export async function sendProbe(prefix: string, req: ProbeRequest): Promise<ProbeResult> {
  const topo = labTopology(prefix)
  const pod = topo.pods.find((p) => p.name === req.fromPod)
  if (!pod) throw new LabError('probe', `probe: no pod "${req.fromPod}" in the lab (${topo.pods.map((p) => p.name).join(', ')})`)
  if (!IPV4_RE.test(req.dst) || !isPort(req.dport) || (req.sport !== undefined && !isPort(req.sport))) throw new LabError('probe', `probe: bad destination ${req.dst}:${req.dport}`)
  const timeoutMs = req.timeoutMs ?? 2000
  const argv = [process.execPath, labAsset('probe.mjs'), req.proto ?? 'tcp', req.dst, String(req.dport), String(timeoutMs), ...(req.sport ? [String(req.sport)] : [])]
  const out = await labRun(`probe (${pod.name} -> ${req.dst}:${req.dport})`, argv, {netns: pod.netns, timeoutMs: timeoutMs + 5000})
  return parseProbeOutput(out.stdout, {...req, src: pod.ip})
}

/** The 5-tuple of a probe as its pod sent it (before any NAT). */
export function probeFlow(r: ProbeResult): FlowTuple {
  return {saddr: r.src, daddr: r.dst, sport: r.localPort, dport: r.dport, proto: r.proto}
}

export interface PeerLogEntry {
  proto: ProbeProto
  peer: {address: string; port: number}
  local: string
  at: string
}

/** lab/httpd.mjs's peer log: one JSON object per line (pure). */
export function parsePeerLog(text: string): PeerLogEntry[] {
  const out: PeerLogEntry[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    try {
      const j = JSON.parse(line) as {proto: ProbeProto; peer: string; local: string; at: string}
      const peer = splitHostPort(j.peer)
      if (peer) out.push({proto: j.proto, peer, local: j.local, at: j.at})
    } catch {
      /* a line cut short by lab down */
    }
  }
  return out
}

/** Every peer a lab listener saw (`name`: a pod with a listener, or 'ext'). */
export function readPeerLog(prefix: string, name: string): PeerLogEntry[] {
  try {
    return parsePeerLog(readFileSync(join(labTopology(prefix).stateDir, `${name}-peers.jsonl`), 'utf8'))
  } catch {
    return []
  }
}

// ---------------------------------------------------------------------------------------------------------------
// nft monitor trace

export interface NftTraceMatch {
  saddr: string
  daddr?: string
  proto?: 'tcp' | 'udp' | 'icmp'
  sport?: number
  dport?: number
}

export type TraceEventKind = 'packet' | 'rule' | 'verdict' | 'policy' | 'other'

/** The fields of a `packet:` line nodeinspect uses (the rest stays in `raw`). */
export interface TracePacket {
  iif?: string
  oif?: string
  etherSaddr?: string
  etherDaddr?: string
  saddr?: string
  daddr?: string
  /** tcp, udp, icmp… (the transport header nft printed). */
  proto?: string
  sport?: number
  dport?: number
  /** `tcp flags == syn` -> 'syn'; `ack | syn` style sets are kept as printed. */
  tcpFlags?: string
  ttl?: number
  ipId?: number
  length?: number
  /** Only when nft printed `meta mark` on the packet line (nft 1.0.6 prints the mark on policy/verdict lines). */
  mark?: number
}

export interface TraceEvent {
  /** The trace id (hex): one per packet (skb) and stable across the hooks of one netns. */
  id: string
  family: string
  table: string
  chain: string
  kind: TraceEventKind
  /** rule: the rule as nft prints it (counters included), without `# handle` and the verdict. */
  rule?: string
  handle?: number
  /** rule / verdict lines: accept, drop, continue, return, jump X, goto X, queue… */
  verdict?: string
  /** policy lines: the base chain's policy that applied. */
  policy?: string
  /** policy / verdict lines: the packet's mark at that point (the kernel sends it only when non-zero: absent = 0). */
  mark?: number
  packet?: TracePacket
  raw: string
}

const TRACE_RE = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/

function parseMark(s: string): {rest: string; mark?: number} {
  const m = / ?meta mark (0x[0-9a-f]+)\s*$/.exec(s)
  return m ? {rest: s.slice(0, m.index).trim(), mark: Number.parseInt(m[1]!.slice(2), 16) >>> 0} : {rest: s.trim()}
}

/** The fields of a `packet:` line (pure). */
export function parseTracePacket(text: string): TracePacket {
  const p: TracePacket = {}
  const str = (re: RegExp) => re.exec(text)?.[1]
  const num = (re: RegExp) => {
    const v = re.exec(text)?.[1]
    return v === undefined ? undefined : Number(v)
  }
  const set = <K extends keyof TracePacket>(k: K, v: TracePacket[K] | undefined) => {
    if (v !== undefined) p[k] = v
  }
  set('iif', str(/\biif "([^"]*)"/))
  set('oif', str(/\boif "([^"]*)"/))
  set('etherSaddr', str(/\bether saddr (\S+)/))
  set('etherDaddr', str(/\bether daddr (\S+)/))
  set('saddr', str(/\bip saddr (\S+)/))
  set('daddr', str(/\bip daddr (\S+)/))
  const l4 = /\b(tcp|udp|icmp|sctp|udplite) (?:sport|dport|type|flags)\b/.exec(text)?.[1]
  set('proto', l4)
  if (l4 === 'tcp' || l4 === 'udp' || l4 === 'sctp' || l4 === 'udplite') {
    set('sport', num(new RegExp(`\\b${l4} sport (\\d+)`)))
    set('dport', num(new RegExp(`\\b${l4} dport (\\d+)`)))
  }
  set('tcpFlags', str(/\btcp flags == (\S+(?: \| \S+)*)/))
  set('ttl', num(/\bip ttl (\d+)/))
  set('ipId', num(/\bip id (\d+)/))
  set('length', num(/\bip length (\d+)/))
  const mark = str(/\bmeta mark (0x[0-9a-f]+)/)
  if (mark !== undefined) p.mark = Number.parseInt(mark.slice(2), 16) >>> 0
  return p
}

/**
 * Parse `nft -a monitor trace` output (nftables 1.0.6) into events, in order (pure). Lines look like
 *   trace id 0f83b0f3 ip filter FORWARD packet: iif "lxc48c4aa0637ce" oif "cilium_vxlan" ether saddr … ip saddr 10.42.1.80 …
 *   trace id 0f83b0f3 ip nat KUBE-SEP-YTXN4VEJAMOLS3CC rule meta l4proto tcp … dnat to 10.42.0.51:80 # handle 31 (verdict accept)
 *   trace id 0f83b0f3 ip filter KUBE-FORWARD verdict continue meta mark 0x00008000
 *   trace id 0f83b0f3 ip nat POSTROUTING policy accept meta mark 0x00004000
 * Anything else (blank lines, warnings) is skipped.
 */
export function parseNftMonitorTrace(text: string): TraceEvent[] {
  const out: TraceEvent[] = []
  for (const rawLine of text.split('\n')) {
    const raw = rawLine.trimEnd()
    const m = TRACE_RE.exec(raw)
    if (!m) continue
    const [, id, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string]
    const e: TraceEvent = {id, family, table, chain, kind: 'other', raw}
    if (rest.startsWith('packet: ')) {
      e.kind = 'packet'
      e.packet = parseTracePacket(rest.slice('packet: '.length))
    } else if (rest.startsWith('rule ')) {
      e.kind = 'rule'
      const r = /^rule (.*?)\s*\(verdict ([^)]*)\)\s*$/.exec(rest)
      let body = r ? r[1]! : rest.slice(5)
      if (r) e.verdict = r[2]!.trim()
      const h = /\s*# handle (\d+)\s*$/.exec(body)
      if (h) {
        e.handle = Number(h[1])
        body = body.slice(0, h.index)
      }
      // iptables-nft rules print a double space where an xtables match (a comment) was: collapse runs of blanks.
      e.rule = body.trim().replace(/\s{2,}/g, ' ')
    } else if (rest.startsWith('verdict ')) {
      e.kind = 'verdict'
      const {rest: v, mark} = parseMark(rest.slice('verdict '.length))
      e.verdict = v
      if (mark !== undefined) e.mark = mark
    } else if (rest.startsWith('policy ')) {
      e.kind = 'policy'
      const {rest: v, mark} = parseMark(rest.slice('policy '.length))
      e.policy = v
      e.mark = mark ?? 0
    }
    if (e.kind === 'verdict' && e.mark === undefined) e.mark = 0
    out.push(e)
  }
  return out
}

/**
 * Events grouped by packet, in order of first appearance (pure). The kernel derives the trace id from the skb's
 * address, so a later packet of the flow can reuse the id of an earlier one: within one id, a `packet:` line for
 * a base chain the group already saw starts a new packet.
 */
export function traceGroups(events: readonly TraceEvent[]): Array<{id: string; events: TraceEvent[]}> {
  const groups: Array<{id: string; events: TraceEvent[]; seen: Set<string>}> = []
  const current = new Map<string, {id: string; events: TraceEvent[]; seen: Set<string>}>()
  for (const e of events) {
    const hook = `${e.family} ${e.table} ${e.chain}`
    let g = current.get(e.id)
    if (!g || (e.kind === 'packet' && g.seen.has(hook))) {
      g = {id: e.id, events: [], seen: new Set()}
      groups.push(g)
      current.set(e.id, g)
    }
    if (e.kind === 'packet') g.seen.add(hook)
    g.events.push(e)
  }
  return groups.map(({id, events: evs}) => ({id, events: evs}))
}

/**
 * What happened to one traced packet in this netns (pure): 'drop' when a rule or a policy dropped it, 'accept'
 * when it passed every base chain it met, 'unknown' when the trace shows neither.
 */
export function traceVerdict(events: readonly TraceEvent[]): 'accept' | 'drop' | 'unknown' {
  if (events.some((e) => (e.kind === 'rule' || e.kind === 'verdict') && e.verdict === 'drop') || events.some((e) => e.kind === 'policy' && e.policy === 'drop')) return 'drop'
  if (events.some((e) => e.kind === 'policy' || ((e.kind === 'rule' || e.kind === 'verdict') && e.verdict === 'accept'))) return 'accept'
  return 'unknown'
}

/** One line per event for people: `ip nat KUBE-SEP-… rule <text> #31 -> accept` (pure). */
export function formatTraceEvent(e: TraceEvent): string {
  const where = `${e.family} ${e.table} ${e.chain}`
  const mark = e.mark ? ` mark 0x${e.mark.toString(16)}` : ''
  if (e.kind === 'packet') {
    const p = e.packet ?? {}
    const ports = p.sport !== undefined ? `:${p.sport} -> ${p.daddr}:${p.dport}` : ` -> ${p.daddr}`
    return `${where} packet ${p.iif ? `iif ${p.iif} ` : ''}${p.oif ? `oif ${p.oif} ` : ''}${p.saddr}${ports} ${p.proto ?? ''}${p.tcpFlags ? ` [${p.tcpFlags}]` : ''}`.trimEnd()
  }
  if (e.kind === 'rule') return `${where} rule "${e.rule}"${e.handle !== undefined ? ` #${e.handle}` : ''} -> ${e.verdict ?? '?'}`
  if (e.kind === 'verdict') return `${where} verdict ${e.verdict}${mark}`
  if (e.kind === 'policy') return `${where} policy ${e.policy}${mark}`
  return e.raw
}

/** The throwaway table (pure): raw-priority (-350) prerouting and output chains that set nftrace on the flow. */
export function nftTraceRuleset(table: string, m: NftTraceMatch): string {
  if (!/^[a-z][a-z0-9_]{0,60}$/.test(table)) throw new LabError('trace', `trace: bad table name ${table}`)
  for (const a of [m.saddr, m.daddr]) if (a !== undefined && !IPV4_RE.test(a)) throw new LabError('trace', `trace: not an IPv4 address: ${a}`)
  for (const p of [m.sport, m.dport]) if (p !== undefined && !isPort(p)) throw new LabError('trace', `trace: bad port ${p}`)
  if (m.proto !== undefined && !['tcp', 'udp', 'icmp'].includes(m.proto)) throw new LabError('trace', `trace: bad protocol ${m.proto}`)
  if ((m.sport !== undefined || m.dport !== undefined) && (m.proto === undefined || m.proto === 'icmp')) throw new LabError('trace', 'trace: ports need proto tcp or udp')
  const expr = [`ip saddr ${m.saddr}`]
  if (m.daddr !== undefined) expr.push(`ip daddr ${m.daddr}`)
  if (m.proto !== undefined) expr.push(`meta l4proto ${m.proto}`)
  if (m.sport !== undefined) expr.push(`${m.proto} sport ${m.sport}`)
  if (m.dport !== undefined) expr.push(`${m.proto} dport ${m.dport}`)
  const rule = `${expr.join(' ')} meta nftrace set 1`
  return [
    `table ip ${table} {`,
    `\tchain pre { type filter hook prerouting priority -350; policy accept; ${rule}; }`,
    `\tchain out { type filter hook output priority -350; policy accept; ${rule}; }`,
    '}',
    '',
  ].join('\n')
}

/** Whether a process has a NETLINK_NETFILTER socket subscribed to NFNLGRP_NFTRACE (group 9): /proc/<pid>/net/netlink. */
export function netlinkTraceSubscribed(procNetNetlink: string, pid: number): boolean {
  for (const line of procNetNetlink.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 4) continue
    if (Number(f[1]) === 12 && Number(f[2]) === pid && (Number.parseInt(f[3]!, 16) & 0x100) !== 0) return true
  }
  return false
}

export interface NftTraceOptions {
  /** Stop once the monitor printed nothing for this long after fn returned (default 150 ms). */
  settleMs?: number
  /** ... but never wait longer than this after fn (default 3000 ms). */
  maxSettleMs?: number
  /** Keep the events of the throwaway table itself (default: dropped). */
  keepOwnTable?: boolean
  /** Receives the monitor's raw output (to keep a capture). */
  onRaw?: (text: string) => void
}

let traceSeq = 0
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Monitor {
  child: ChildProcess
  text: () => string
  lastData: () => number
  exited: Promise<void>
  exitInfo: () => string
}

function startMonitor(netns: string): Monitor {
  const child = spawn('nsenter', [`--net=${netnsFile(netns)}`, '--', 'nft', '-a', 'monitor', 'trace'], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  let last = Date.now()
  let info = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8')
    last = Date.now()
  })
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')))
  const exited = new Promise<void>((resolve) => {
    child.on('error', (e) => {
      info = e.message
      resolve()
    })
    child.on('exit', (code, signal) => {
      info ||= `${signal ?? `exit ${code}`}${err.trim() ? `: ${err.trim().split('\n')[0]}` : ''}`
      resolve()
    })
  })
  return {child, text: () => out, lastData: () => last, exited, exitInfo: () => info}
}

/**
 * Trace one flow through a lab netns's netfilter: add a throwaway native nft table there whose raw-priority (-350)
 * prerouting and output chains set `meta nftrace set 1` on packets matching `match`, start `nft -a monitor trace`
 * inside the netns, wait until it has subscribed, run fn (which sends the packets), wait until the monitor is
 * quiet, stop it, delete the table, and return the parsed events (the throwaway table's own events dropped).
 * fn's value is not returned: keep it in a closure. The table is deleted even when fn throws.
 */
export async function withNftTrace(netns: string, match: NftTraceMatch, fn: () => Promise<unknown>, opts: NftTraceOptions = {}): Promise<TraceEvent[]> {
  const table = `nilab_trace_${process.pid}_${++traceSeq}`
  await labRun(`trace table (${netns})`, ['nft', '-f', '-'], {netns, input: nftTraceRuleset(table, match)})
  let mon: Monitor | undefined
  try {
    mon = startMonitor(netns)
    const pid = mon.child.pid
    const deadline = Date.now() + 3000
    let ready = false
    let exited = false
    void mon.exited.then(() => (exited = true))
    while (!ready && !exited && Date.now() < deadline) {
      try {
        if (pid !== undefined) ready = netlinkTraceSubscribed(readFileSync(`/proc/${pid}/net/netlink`, 'utf8'), pid)
      } catch {
        /* not started yet */
      }
      if (!ready) await sleep(5)
    }
    if (!ready) throw new LabError('trace', `trace: nft monitor trace in ${netns} did not start${exited ? ` (${mon.exitInfo()})` : ' within 3 s'}`)
    await fn()
    const settle = opts.settleMs ?? 150
    const until = Date.now() + (opts.maxSettleMs ?? 3000)
    while (Date.now() < until && Date.now() - mon.lastData() < settle) await sleep(Math.min(25, settle))
  } finally {
    if (mon && mon.child.exitCode === null && mon.child.signalCode === null) {
      mon.child.kill('SIGTERM')
      await Promise.race([mon.exited, sleep(2000)])
    }
    await labTry(['nft', 'delete', 'table', 'ip', table], {netns})
  }
  const text = mon.text()
  opts.onRaw?.(text)
  const events = parseNftMonitorTrace(text)
  return opts.keepOwnTable ? events : events.filter((e) => e.table !== table)
}

// ---------------------------------------------------------------------------------------------------------------
// Flow recordings, in path order

export interface FlowTuple {
  saddr: string
  daddr: string
  sport: number
  dport: number
  proto: string
}

/** One hook a flow crossed, from the lab's recordings. */
export interface PathStep {
  node?: NodeName
  nodeId: number
  hook: FlowHook | `unknown-${number}`
  devname?: string
  ifindex: number
  /** skb->mark on entry to the hook for the first packet (0 at XDP, which has no mark). */
  mark: number
  /** ... and for the last packet. */
  lastMark: number
  packets: number
  /** Seen VXLAN-encapsulated on the wire (the tuple is the inner one). */
  encapsulated: boolean
  /** The tuple the hook saw: after NAT it differs from the flow's. */
  tuple: FlowTuple
  /** The tuple is one of the `translated` ones (after DNAT/SNAT), not the flow's own. */
  translated: boolean
}

/** Within one node, the order in which a packet meets the lab's hooks (see the file comment). */
export const HOOK_PATH_ORDER: readonly FlowHook[] = ['xdp', 'foreign', 'from-netdev', 'from-overlay', 'from-container', 'to-container', 'to-overlay', 'to-netdev']

export function reverseTuple(t: FlowTuple): FlowTuple {
  return {saddr: t.daddr, daddr: t.saddr, sport: t.dport, dport: t.sport, proto: t.proto}
}

export interface FlowPathOptions {
  /** forward: packets from saddr to daddr (default); reply: the answers. */
  direction?: 'forward' | 'reply'
  /**
   * The same direction after NAT, as overrides of its tuple: e.g. forward through a Service
   * `[{daddr: '10.42.0.51'}]`, reply `[{saddr: '10.42.0.51'}]`; masquerade forward `[{saddr: '172.31.0.1', sport}]`.
   */
  translated?: Array<Partial<FlowTuple>>
}

const sameTuple = (r: FlowRecord, t: FlowTuple) => r.saddr === t.saddr && r.daddr === t.daddr && r.sport === t.sport && r.dport === t.dport && r.proto === t.proto

/**
 * The hooks one direction of a flow crossed, in path order (pure): the records matching the flow's tuple (or a
 * translated one), nodes in the order the packet reached them, hooks within a node in HOOK_PATH_ORDER.
 */
export function flowPath(records: readonly FlowRecord[], flow: FlowTuple, opts: FlowPathOptions = {}): PathStep[] {
  const base = opts.direction === 'reply' ? reverseTuple(flow) : flow
  const tuples = [base, ...(opts.translated ?? []).map((o) => ({...base, ...o}))]
  const steps: PathStep[] = []
  for (const r of records) {
    const i = tuples.findIndex((t) => sameTuple(r, t))
    if (i < 0) continue
    const s: PathStep = {
      nodeId: r.nodeId,
      hook: r.hook,
      ifindex: r.ifindex,
      mark: r.firstMark,
      lastMark: r.lastMark,
      packets: r.packets,
      encapsulated: r.encapsulated,
      tuple: {saddr: r.saddr, daddr: r.daddr, sport: r.sport, dport: r.dport, proto: r.proto},
      translated: i > 0,
    }
    if (r.node) s.node = r.node
    if (r.devname !== undefined) s.devname = r.devname
    steps.push(s)
  }
  // A node is an entry node when the packet came into the lab there: from a pod, or from a device without VXLAN.
  const entry = new Set(steps.filter((s) => s.hook === 'from-container' || ((s.hook === 'from-netdev' || s.hook === 'xdp' || s.hook === 'foreign') && !s.encapsulated)).map((s) => s.nodeId))
  const nodeRank = (id: number) => (entry.has(id) ? 0 : 1)
  const hookRank = (h: string) => {
    const i = HOOK_PATH_ORDER.indexOf(h as FlowHook)
    return i < 0 ? HOOK_PATH_ORDER.length : i
  }
  return steps.sort((a, b) => nodeRank(a.nodeId) - nodeRank(b.nodeId) || a.nodeId - b.nodeId || hookRank(a.hook) - hookRank(b.hook) || a.ifindex - b.ifindex || Number(a.translated) - Number(b.translated))
}

/** `node1 lxc48c4aa0637ce(43) from-container mark 0x0` per step (pure), for messages and logs. */
export function formatPathStep(s: PathStep): string {
  const t = s.tuple
  return `${s.node ?? `node${s.nodeId}`} ${s.devname ?? '?'}(${s.ifindex}) ${s.hook}${s.encapsulated ? ' encapsulated' : ''} ${t.saddr}:${t.sport} -> ${t.daddr}:${t.dport} mark 0x${s.mark.toString(16)}`
}

/** Read the lab's recordings and order one direction of a flow (see flowPath). */
export async function readFlowPath(prefix: string, flow: FlowTuple, opts: FlowPathOptions = {}): Promise<PathStep[]> {
  return flowPath(await readFlowRecords({prefix}), flow, opts)
}
