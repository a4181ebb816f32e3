/**
 * The one chain graph of a netfilter table: which chains each chain's rules jump or go to (nft: verdict maps
 * too), and from it which base chains reach each chain. Built once per table and kept beside it, so `marks`
 * (which hooks reach a mark rule) and every other reader ask the same graph.
 */
import type {Hook, NftTable, XtChain, XtRule, XtRuleset, XtTable} from './netfilter.js'

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
  /** Every chain (and every name a rule jumps to) by number: chains first, in the table's order. */
  names: string[]
  ids: ReadonlyMap<string, number>
  /** Per chain number: the chains its rules jump or go to, each once, in rule order. */
  out: ReadonlyArray<readonly number[]>
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
/** Per graph: who jumps to each chain (built on the first question that needs it). */
const reverse = new WeakMap<ChainGraph, {start: Int32Array; from: Int32Array}>()

/**
 * Builds a graph on chain numbers: 110k kube-proxy jumps as arrays of numbers, not sets of names (~5× less time
 * and garbage, measured at that scale).
 */
class GraphBuilder {
  readonly names: string[]
  /** Per chain: its edges, made on its first (most chains of a partial parse hand theirs over whole: adopt). */
  private readonly out: Array<number[] | undefined>
  /** Numbers given here, to names not in `known`. */
  private readonly own = new Map<string, number>()
  /** The chain whose edges are being added, and per target the last chain that added it (dedupe in O(1)). */
  private cur = -1
  private readonly lastFrom: number[]

  /** `known`: names already numbered 0…n-1, in `names` order (a parse that numbered its chains as it read them). */
  constructor(
    private readonly known?: ReadonlyMap<string, number>,
    names: readonly string[] = [],
  ) {
    this.names = [...names]
    this.out = new Array<number[] | undefined>(this.names.length)
    this.lastFrom = new Array<number>(this.names.length).fill(-1)
  }

  id(name: string): number {
    let i = this.known?.get(name) ?? this.own.get(name)
    if (i === undefined) {
      i = this.names.length
      this.own.set(name, i)
      this.names.push(name)
      this.out.push(undefined)
      this.lastFrom.push(-1)
    }
    return i
  }

  from(name: string): void {
    this.cur = this.id(name)
  }

  fromId(i: number): void {
    this.cur = i
  }

  to(name: string): void {
    this.toId(this.id(name))
  }

  toId(t: number): void {
    if (this.lastFrom[t] === this.cur) return
    this.lastFrom[t] = this.cur
    const edges = this.out[this.cur]
    if (edges === undefined) this.out[this.cur] = [t]
    else edges.push(t)
  }

  /** Chain i's edges are `to`, each once (a chain added no edge before): kept as they are, not copied. */
  adopt(i: number, to: number[]): void {
    this.out[i] = to
  }

  graph(table: string, bases: BaseChain[]): ChainGraph {
    const {known, own} = this
    const ids = known === undefined ? own : own.size === 0 ? known : new Map([...known, ...own])
    const out = this.out
    for (let i = 0; i < out.length; i++) out[i] ??= NO_EDGES
    return {table, bases, names: this.names, ids, out: out as number[][]}
  }
}

/** An iptables table's graph: -j/-g of every rule, the rules a partial parse did not build included (XtChain.unbuilt). */
export function xtChainGraph(t: XtTable): ChainGraph {
  let g = graphs.get(t)
  if (g) return g
  const b = new GraphBuilder()
  for (const c of t.chains) b.id(c.name)
  for (const c of t.chains) {
    b.from(c.name)
    builtJumps(b, c)
    if (c.unbuilt) for (const to of c.unbuilt.jumps) b.to(to)
  }
  g = b.graph(t.name, xtBases(t))
  graphs.set(t, g)
  return g
}

/**
 * For a parse that numbered a table's chains as it read them and kept the jumps of the rules it did not build as
 * those numbers (iptables-save.ts for marks: 110k jumps at kube-proxy scale): the graph xtChainGraph would build,
 * without hashing every name again, kept so that xtChainGraph returns it. `ids`: the chains by name, numbered in
 * `t.chains` order; `unbuiltJumps(i)`: chain i's jumps from rules not built (UnbuiltJumps). A chain whose jumps are
 * all there, as unique numbers, keeps its array as its edges: the caller must not change it afterwards.
 */
export function registerXtChainGraph(t: XtTable, ids: ReadonlyMap<string, number>, unbuiltJumps: (i: number) => UnbuiltJumps | undefined): void {
  const {chains} = t
  const b = new GraphBuilder(ids, chains.map((c) => c.name))
  // Indexed: once per table, over 40k kube-proxy chains, mostly before the optimizing compiler has seen it.
  for (let i = 0; i < chains.length; i++) {
    const c = chains[i]!
    const u = unbuiltJumps(i)
    // Most chains of a kube-proxy dump: no rule built, and jumps that are already each chain's number once.
    if (u !== undefined && !u.resumed && !hasBuiltJump(c)) {
      b.adopt(i, u.targets as number[])
      continue
    }
    b.fromId(i)
    builtJumps(b, c)
    if (u) for (const to of u.targets) typeof to === 'number' ? b.toId(to) : b.to(to)
  }
  graphs.set(t, b.graph(t.name, xtBases(t)))
}

/**
 * What registerXtChainGraph is given of a chain's rules not built: their jumps, in the order first seen, each a
 * chain's number or (no chain of the table) a name; `resumed` unless they are all numbers, each once.
 */
interface UnbuiltJumps {
  targets: ReadonlyArray<number | string>
  resumed: boolean
}

/** A chain with no edge: one array for all of them, never changed. */
const NO_EDGES: number[] = Object.freeze([]) as unknown as number[]

/** The chain a built rule jumps or goes to, if it does. */
function chainJumpOf(r: XtRule): string | undefined {
  const t = r.target
  return t && (t.kind === 'jump' || t.kind === 'goto') ? t.chain : undefined
}

function hasBuiltJump(c: XtChain): boolean {
  return c.rules.some((r) => chainJumpOf(r) !== undefined)
}

function builtJumps(b: GraphBuilder, c: XtChain): void {
  for (const r of c.rules) {
    const to = chainJumpOf(r)
    if (to !== undefined) b.to(to)
  }
}

function xtBases(t: XtTable): BaseChain[] {
  return t.chains.filter((c) => c.builtin).map((c) => (c.hook ? {name: c.name, hook: c.hook} : {name: c.name}))
}

/** An nft table's graph: jump/goto from any statement, inline verdict maps and named verdict maps (kube-proxy's `vmap @service-ips`). */
export function nftChainGraph(t: NftTable): ChainGraph {
  let g = graphs.get(t)
  if (g) return g
  const b = new GraphBuilder()
  for (const c of t.chains) b.id(c.name)
  for (const c of t.chains) {
    b.from(c.name)
    for (const r of c.rules) {
      if (r.verdict?.target) b.to(r.verdict.target)
      // A verdict map can name thousands of chains (kube-proxy's nftables mode): no argument spread.
      if (r.verdict?.targets) for (const to of r.verdict.targets) b.to(to)
    }
  }
  const bases: BaseChain[] = []
  for (const c of t.chains) if (c.base) bases.push(isHook(c.base.hook) ? {name: c.name, hook: c.base.hook} : {name: c.name})
  g = b.graph(`${t.family} ${t.name}`, bases)
  graphs.set(t, g)
  return g
}

/**
 * The base chains that reach `chain` (none for a base chain itself or a dead chain), in the table's chain order,
 * each with the shortest path. One breadth-first walk from each base chain per graph (at most 5 per iptables
 * table), at most O(B·(chains + jumps)), taken only as far as the chains asked about: kube-proxy's one mark chain
 * (KUBE-MARK-MASQ) is found two levels down, without walking its 40k chains; a path is built only for the chains
 * asked about. A base chain that does not reach `chain` would walk everything it reaches to find out (kube-proxy's
 * PREROUTING: 40k chains, for a mark rule in KUBE-POSTROUTING): the chains that reach it, walked backwards, say so first.
 */
export function reachersOf(g: ChainGraph, chain: string): ChainReacher[] {
  const out: ChainReacher[] = []
  const target = g.ids.get(chain)
  if (target === undefined || g.bases.some((b) => b.name === chain)) return out
  let ws = walks.get(g)
  if (!ws) {
    ws = g.bases.map((b) => new BfsWalk(g.ids.get(b.name)!, g.out))
    walks.set(g, ws)
  }
  const ancestors = ancestorsOf(g, target)
  g.bases.forEach((b, i) => {
    const start = g.ids.get(b.name)!
    if (!ancestors[start]) return
    const parent = ws[i]!.reach(target)
    if (parent[target] === -1) return
    const path = [chain]
    for (let x = parent[target]!; ; x = parent[x]!) {
      path.push(g.names[x]!)
      if (x === start) break
    }
    const r: ChainReacher = {table: g.table, builtin: b.name, path: path.reverse()}
    if (b.hook) r.hook = b.hook
    out.push(r)
  })
  return out
}

/** Every chain from which some path of jumps/gotos leads to `target` (itself only through a loop), as a flag per chain. */
function ancestorsOf(g: ChainGraph, target: number): Uint8Array {
  let rev = reverse.get(g)
  const n = g.names.length
  if (!rev) {
    // Who jumps to whom, turned around, as one array per direction (counting sort by target). Indexed loops: this
    // runs once per graph, over 110k kube-proxy jumps, mostly before the optimizing compiler has seen it.
    const {out} = g
    const start = new Int32Array(n + 1)
    for (let f = 0; f < out.length; f++) {
      const tos = out[f]!
      for (let k = 0; k < tos.length; k++) start[tos[k]! + 1]!++
    }
    for (let i = 0; i < n; i++) start[i + 1]! += start[i]!
    const from = new Int32Array(start[n]!)
    const fill = start.slice(0, n)
    for (let f = 0; f < out.length; f++) {
      const tos = out[f]!
      for (let k = 0; k < tos.length; k++) from[fill[tos[k]!]!++] = f
    }
    rev = {start, from}
    reverse.set(g, rev)
  }
  const seen = new Uint8Array(n)
  const {start, from} = rev
  const stack = new Int32Array(n + 1)
  let top = 0
  stack[top++] = target
  while (top > 0) {
    const cur = stack[--top]!
    for (let k = start[cur]!; k < start[cur + 1]!; k++) {
      const p = from[k]!
      if (seen[p]) continue
      seen[p] = 1
      stack[top++] = p
    }
  }
  return seen
}

/**
 * Breadth-first from `start`: each chain it reaches → the chain it was first reached from (-1: not reached yet).
 * Advanced a whole chain at a time, only until the chain asked about is reached (or everything is): the entries it
 * has are those the whole walk would give, so answers do not depend on the order chains are asked in.
 */
class BfsWalk {
  readonly parent: Int32Array
  private readonly queue: Int32Array
  private head = 0
  private tail = 1
  constructor(
    private readonly start: number,
    private readonly out: ReadonlyArray<readonly number[]>,
  ) {
    this.parent = new Int32Array(out.length).fill(-1)
    this.queue = new Int32Array(out.length)
    this.queue[0] = start
  }

  /** The parents, walked far enough to hold `target` if the start reaches it at all. */
  reach(target: number): Int32Array {
    const {parent, queue, out, start} = this
    while (parent[target] === -1 && this.head < this.tail) {
      const cur = queue[this.head++]!
      const tos = out[cur]!
      for (let k = 0; k < tos.length; k++) {
        const n = tos[k]!
        if (n === start || parent[n] !== -1) continue
        parent[n] = cur
        queue[this.tail++] = n
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
