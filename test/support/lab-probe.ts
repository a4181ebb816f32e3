/**
 * Probes in the lab (test support): one real TCP connection (with an HTTP GET) or UDP datagram from inside a lab
 * pod's netns (lab/probe.mjs), and the peer logs of the lab's listeners (lab/httpd.mjs). The parsers are pure
 * (tested on captures in testdata/lab/); the I/O only runs inside the lab's own namespaces.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {labAsset, LabError, labRun} from '../../src/lab/exec.js'
import {readAnyLabState} from '../../src/lab/state.js'
import {labTopology} from '../../src/lab/topology.js'
import {familyOf} from '../../src/util/ip.js'
import type {FlowTuple} from './flow-path.js'

export type ProbeProto = 'tcp' | 'udp'

export interface ProbeRequest {
  /** A pod's short name in the lab that is up (Cilium lab: curl, nginx, httpbin, redis). */
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

export const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536

/**
 * A real TCP connection (with one HTTP GET) or UDP datagram from inside a lab pod's netns, bounded in time
 * (lab/probe.mjs). Never throws for a failed connection: `connected: false` with the reason; the source port is
 * known either way, so the exact flow can be found in the recordings and traces.
 */
export async function sendProbe(prefix: string, req: ProbeRequest): Promise<ProbeResult> {
  const topo = labTopology(prefix)
  // The pods of the lab that is up (a CNI variant has its own), else the Cilium lab's.
  const pods = readAnyLabState(topo)?.pods ?? topo.pods
  const pod = pods.find((p) => p.name === req.fromPod)
  if (!pod) throw new LabError('probe', `probe: no pod "${req.fromPod}" in the lab (${pods.map((p) => p.name).join(', ')})`)
  if (familyOf(req.dst) !== 'ipv4' || !isPort(req.dport) || (req.sport !== undefined && !isPort(req.sport))) throw new LabError('probe', `probe: bad destination ${req.dst}:${req.dport}`)
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
