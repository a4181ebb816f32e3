/**
 * The flow recordings of the lab's BPF programs (nilab_flows) in the order the packet crossed them (test
 * support). The ordering is pure (tested on captures in testdata/lab/).
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
import type {FlowHook, NodeName} from '../../src/lab/topology.js'
import {readFlowRecords, type FlowRecord} from './flow-records.js'

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
