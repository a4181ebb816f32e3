/**
 * A netfilter table's chains by name, for a walk's jumps (a jump must not search 40k chains). Built once per table,
 * or given by the parser that already numbered the chains by name as it read them (iptables-save's TableBuilder).
 */
export interface ChainLookup<C> {
  get(name: string): C | undefined
}

const lookups = new WeakMap<object, ChainLookup<unknown>>()

/** For the parser: the table's chains by name, as it knows them (the table's chain list must not change after). */
export function registerChainLookup<C extends {name: string}>(table: {chains: readonly C[]}, lookup: ChainLookup<C>): void {
  lookups.set(table, lookup)
}

export function chainsByName<C extends {name: string}>(table: {chains: readonly C[]}): ChainLookup<C> {
  let m = lookups.get(table) as ChainLookup<C> | undefined
  if (!m) {
    m = new Map(table.chains.map((c) => [c.name, c]))
    lookups.set(table, m)
  }
  return m
}
