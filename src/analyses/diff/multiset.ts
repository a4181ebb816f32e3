/**
 * What two lists hold differently, by key: each item of `a` meets at most one item of `b` with its key (a rule
 * written twice counts twice), so only the surplus on either side is a change. Order is kept: the surplus comes
 * in the order of its list.
 */
export function multisetDiff<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): {removed: T[]; added: T[]} {
  const left = new Map<string, number>()
  for (const x of b) left.set(key(x), (left.get(key(x)) ?? 0) + 1)
  const removed: T[] = []
  for (const x of a) {
    const k = key(x)
    const n = left.get(k) ?? 0
    if (n > 0) left.set(k, n - 1)
    else removed.push(x)
  }
  const unmatched = new Map<string, number>()
  for (const x of a) unmatched.set(key(x), (unmatched.get(key(x)) ?? 0) + 1)
  const added: T[] = []
  for (const x of b) {
    const k = key(x)
    const n = unmatched.get(k) ?? 0
    if (n > 0) unmatched.set(k, n - 1)
    else added.push(x)
  }
  return {removed, added}
}

/**
 * A text without what changes between two readings of an unchanged node: program ids (`prog 77`, `id 5763`,
 * `map 880`) and rule positions (`#3`), which shift when a rule is inserted above. Used only for keys.
 */
export function withoutIds(s: string): string {
  return s.replace(/\b(prog|id|map|link) \d+\b/g, '$1 N').replace(/#\d+\b/g, '#N')
}
