/**
 * The one chain graph of a netfilter table: which chains each chain's rules jump or go to (nft: verdict maps
 * too), and from it which base chains reach each chain. Built once per table and kept beside it, so `marks`
 * (which hooks reach a mark rule) and every other reader ask the same graph.
 */
import type {Hook, NftTable, XtRuleset, XtTable} from './netfilter.js'

/** A base chain (an iptables built-in chain, an nft base chain) and the hook it sits on. */
interface BaseChain {
  name: string
  hook?: Hook
}

export interface ChainGraph {
  /** `nat`, or for nft `ip kube-proxy`. */
  table: string
  /** In the table's chain order. */
  bases: BaseChain[]
  /** Chain → the chains its rules jump or go to, each once, in rule order. */
  edges: ReadonlyMap<string, ReadonlySet<string>>
}

/** A base chain that reaches a chain through jumps/gotos, with the shortest chain path (base chain first). */
export interface ChainReacher {
  table: string
  builtin: string
  hook?: Hook
  path: string[]
}

interface ChainReach {
  table: string
  chain: string
  /** Empty for a chain no base chain reaches (dead rules: they never see a packet). */
  reachedFrom: ChainReacher[]
}

const graphs = new WeakMap<object, ChainGraph>()
/** Per graph, per base chain: its breadth-first walk, advanced only as far as the chains asked about need. */
const walks = new WeakMap<ChainGraph, BfsWalk[]>()

function edgeAdder(edges: Map<string, Set<string>>) {
  return (from: string, to: string) => {
    const l = edges.get(from)
    if (l) l.add(to)
    else edges.set(from, new Set([to]))
  }
}

/** An iptables table's graph: -j/-g of every rule, the rules a partial parse did not build included (XtChain.unbuilt). */
export function xtChainGraph(t: XtTable): ChainGraph {
  let g = graphs.get(t)
  if (g) return g
  const edges = new Map<string, Set<string>>()
  const add = edgeAdder(edges)
  for (const c of t.chains) {
    for (const r of c.rules) if (r.target && (r.target.kind === 'jump' || r.target.kind === 'goto')) add(c.name, r.target.chain)
    if (c.unbuilt) for (const to of c.unbuilt.jumps) add(c.name, to)
  }
  g = {table: t.name, bases: t.chains.filter((c) => c.builtin).map((c) => (c.hook ? {name: c.name, hook: c.hook} : {name: c.name})), edges}
  graphs.set(t, g)
  return g
}

/** An nft table's graph: jump/goto from any statement, inline verdict maps and named verdict maps (kube-proxy's `vmap @service-ips`). */
export function nftChainGraph(t: NftTable): ChainGraph {
  let g = graphs.get(t)
  if (g) return g
  const edges = new Map<string, Set<string>>()
  const add = edgeAdder(edges)
  for (const c of t.chains)
    for (const r of c.rules) {
      if (r.verdict?.target) add(c.name, r.verdict.target)
      // A verdict map can name thousands of chains (kube-proxy's nftables mode): no argument spread.
      if (r.verdict?.targets) for (const to of r.verdict.targets) add(c.name, to)
    }
  const bases: BaseChain[] = []
  for (const c of t.chains) if (c.base) bases.push(isHook(c.base.hook) ? {name: c.name, hook: c.base.hook} : {name: c.name})
  g = {table: `${t.family} ${t.name}`, bases, edges}
  graphs.set(t, g)
  return g
}

/**
 * The base chains that reach `chain` (none for a base chain itself or a dead chain), in the table's chain order,
 * each with the shortest path. One breadth-first walk from each base chain per graph (at most 5 per iptables
 * table), at most O(B·(chains + jumps)), taken only as far as the chains asked about: kube-proxy's one mark chain
 * (KUBE-MARK-MASQ) is found two levels down, without walking its 40k chains; a path is built only for the chains
 * asked about.
 */
export function reachersOf(g: ChainGraph, chain: string): ChainReacher[] {
  let ws = walks.get(g)
  if (!ws) {
    ws = g.bases.map((b) => new BfsWalk(b.name, g.edges))
    walks.set(g, ws)
  }
  const out: ChainReacher[] = []
  if (g.bases.some((b) => b.name === chain)) return out
  // A base chain that does not reach `chain` would walk everything it reaches to find out (kube-proxy's
  // PREROUTING: 40k chains, for a mark rule in KUBE-POSTROUTING); the chains that reach it, walked backwards,
  // say so first.
  const ancestors = ancestorsOf(g, chain)
  g.bases.forEach((b, i) => {
    if (!ancestors.has(b.name)) return
    const parent = ws[i]!.reach(chain)
    if (!parent.has(chain)) return
    const path = [chain]
    for (let x = parent.get(chain)!; ; x = parent.get(x)!) {
      path.push(x)
      if (x === b.name) break
    }
    const r: ChainReacher = {table: g.table, builtin: b.name, path: path.reverse()}
    if (b.hook) r.hook = b.hook
    out.push(r)
  })
  return out
}

const reverseEdges = new WeakMap<ChainGraph, Map<string, string[]>>()

/** Every chain from which some path of jumps/gotos leads to `chain` (itself excluded). */
function ancestorsOf(g: ChainGraph, chain: string): Set<string> {
  let rev = reverseEdges.get(g)
  if (!rev) {
    rev = new Map()
    for (const [from, tos] of g.edges)
      for (const to of tos) {
        const l = rev.get(to)
        if (l) l.push(from)
        else rev.set(to, [from])
      }
    reverseEdges.set(g, rev)
  }
  const seen = new Set<string>()
  const stack = [chain]
  while (stack.length > 0) {
    const cur = stack.pop()!
    for (const p of rev.get(cur) ?? []) {
      if (seen.has(p)) continue
      seen.add(p)
      stack.push(p)
    }
  }
  return seen
}

/**
 * Breadth-first from `start`: each chain it reaches → the chain it was first reached from. Advanced a whole chain
 * at a time, only until the chain asked about is reached (or everything is): the entries it has are those the
 * whole walk would give, so answers do not depend on the order chains are asked in.
 */
class BfsWalk {
  readonly parent = new Map<string, string>()
  private readonly queue: string[]
  private head = 0
  constructor(
    private readonly start: string,
    private readonly edges: ReadonlyMap<string, ReadonlySet<string>>,
  ) {
    this.queue = [start]
  }

  /** The parents, walked far enough to hold `chain` if the start reaches it at all. */
  reach(chain: string): ReadonlyMap<string, string> {
    const {parent, queue, edges, start} = this
    while (!parent.has(chain) && this.head < queue.length) {
      const cur = queue[this.head++]!
      const next = edges.get(cur)
      if (!next) continue
      for (const n of next) {
        if (n === start || parent.has(n)) continue
        parent.set(n, cur)
        queue.push(n)
      }
    }
    return parent
  }
}

/** For every user chain of a dump, which built-in chains (so which table/hook) reach it. @internal tested directly (a test seam) */
export function xtChainReachability(rs: XtRuleset): ChainReach[] {
  const out: ChainReach[] = []
  for (const t of rs.tables) {
    const g = xtChainGraph(t)
    for (const c of t.chains) if (!c.builtin) out.push({table: t.name, chain: c.name, reachedFrom: reachersOf(g, c.name)})
  }
  return out
}

/** For every regular nft chain, which base chains reach it. @internal tested directly (a test seam) */
export function nftChainReachability(rs: {tables: readonly NftTable[]}): ChainReach[] {
  const out: ChainReach[] = []
  for (const t of rs.tables) {
    const g = nftChainGraph(t)
    for (const c of t.chains) if (!c.base) out.push({table: g.table, chain: c.name, reachedFrom: reachersOf(g, c.name)})
  }
  return out
}

function isHook(h: string): h is Hook {
  return h === 'prerouting' || h === 'input' || h === 'forward' || h === 'output' || h === 'postrouting'
}
