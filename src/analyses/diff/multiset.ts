/**
 * What two lists hold differently, by key: each item of `a` meets at most one item of `b` with its key (a rule
 * written twice counts twice), so only the surplus on either side is a change. Order is kept: the surplus comes
 * in the order of its list.
 */
export function multisetDiff<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): {removed: T[]; added: T[]} {
  return {removed: surplus(a, b, key), added: surplus(b, a, key)}
}

/** The items of `xs`, in order, left once each item of `ys` has taken one with its key. */
function surplus<T>(xs: readonly T[], ys: readonly T[], key: (x: T) => string): T[] {
  const left = new Map<string, number>()
  for (const y of ys) left.set(key(y), (left.get(key(y)) ?? 0) + 1)
  const out: T[] = []
  for (const x of xs) {
    const k = key(x)
    const n = left.get(k) ?? 0
    if (n > 0) left.set(k, n - 1)
    else out.push(x)
  }
  return out
}

/**
 * A text without what changes between two readings of an unchanged node: program ids (`prog 77`, `id 5763`,
 * `map 880`) and rule positions (`#3`), which shift when a rule is inserted above. Used only for keys.
 */
export function withoutIds(s: string): string {
  return s.replace(/\b(prog|id|map|link) \d+\b/g, '$1 N').replace(/#\d+\b/g, '#N')
}
