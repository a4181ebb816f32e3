import type {MarkUsage} from './mark-usage.js'

const ID_RE = /^u\d+$/
const CHAIN_RE = /^(?:([^/#]+)\/)?([^/#]+)(?:#(\d+))?$/

/**
 * The uses a `--rule` spec names: comma-separated usage ids (`u12`, as printed in the Uses table and the JSON) or
 * rules by place, `[TABLE/]CHAIN[#POSITION]` (`KUBE-MARK-MASQ`, `mangle/cali-PREROUTING#3`, `ip filter/input`).
 * `{error}` when a part is malformed or names no use.
 */
export function selectRules(usages: readonly MarkUsage[], spec: string): {selected: Set<string>} | {error: string} {
  const selected = new Set<string>()
  for (const raw of spec.split(',')) {
    const part = raw.trim()
    if (ID_RE.test(part)) {
      const u = usages.find((x) => x.id === part)
      if (!u) return {error: `no mark use has the id ${part}${usages.length ? ` (they run u1 to ${usages[usages.length - 1]!.id})` : ' (this node has none)'}`}
      selected.add(u.id)
      continue
    }
    const m = CHAIN_RE.exec(part)
    if (!m) return {error: `"${part}" is neither a use id (u12) nor [TABLE/]CHAIN[#POSITION]`}
    const [, table, chain, pos] = m
    const hits = usages.filter((u) => u.where.chain === chain && (table === undefined || u.where.table === table) && (pos === undefined || u.where.position === Number(pos)))
    if (hits.length === 0) return {error: `no mark use in ${table ? `table ${table}, ` : ''}chain ${chain}${pos ? ` at position ${pos}` : ''}`}
    for (const u of hits) selected.add(u.id)
  }
  return {selected}
}
