/**
 * The nf_tables tables of the netns, listed by the project's helper (native/nodeinspect-bpf.c `nft-tables`): one
 * NFT_MSG_GETTABLE dump over nfnetlink, in the kernel's order, which is the order the tables were made
 * (docs/kernel-notes.md#kn-27-equal-priority-order). It is how marks and trace find the native nft tables to list:
 * `nft -j list chains` gives the same tables only after fetching and printing every chain, 0.26 s of CPU and 5 MB
 * of JSON with iptables-nft's 40k kube-proxy chains, and `nft list tables` is slower still on nftables 1.0.6
 * (docs/kernel-notes.md#kn-29-nft-table-list).
 */
import {BPF_HELPER} from '../source/live.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import {probe} from './descriptor.js'
import {parseJson, problem, rawJson, shown} from './parsed.js'

export const NFT_TABLES_PROBE = 'nodeinspect-bpf nft-tables'

/** One table as the kernel lists it. */
interface NftTableListing {
  /** nft's family name: inet, ip, ip6, arp, bridge or netdev. */
  family: string
  name: string
  handle?: number
  /**
   * The kernel's table->use: its chains, named sets, stateful objects and flowtables (not only chains, whatever the
   * UAPI header says). Absent from a helper that did not print it.
   */
  use?: number
  /** NFT_TABLE_F_*: 1 dormant, 2 owned by a process (include/uapi/linux/netfilter/nf_tables.h). */
  flags?: number
}

export interface NftTablesFacts {
  /** Every table of the netns, in the kernel's order. */
  tables: NftTableListing[]
  /** False: the kernel has no nf_tables, so there is no table at all (the helper's `note` says how it knew). */
  supported: boolean
  note?: string
  /** Set when the output as a whole is no answer (the helper's error, another program's output): ask nft instead. */
  unusable?: string
}

const FAMILIES: ReadonlySet<string> = new Set(['inet', 'ip', 'ip6', 'arp', 'bridge', 'netdev'])

export const nftTablesProbe = probe({argv: [BPF_HELPER, 'nft-tables'], timeoutMs: 30_000}, (t) => parseBpfHelperNftTables(t), {tables: [], supported: true, unusable: 'not read'} as NftTablesFacts)

/**
 * e.g. `{"helper":"nodeinspect-bpf","version":1,"supported":true,"tables":[{"family":"ip","name":"nat","handle":2,"use":40008,"flags":0},{"family":"inet","name":"ni_a","handle":3,"use":1,"flags":0}]}`,
 * or on a kernel without nf_tables `{"helper":"nodeinspect-bpf","version":1,"supported":false,"errno":93,"note":"socket(NETLINK_NETFILTER): Protocol not supported: this kernel has no nfnetlink, so no nf_tables table","tables":[]}`.
 * A table of a family nft does not name (printed as its number) is a problem and left out: nft could not list it.
 * @internal tested directly (a test seam)
 */
export function parseBpfHelperNftTables(text: string): Parsed<NftTablesFacts> {
  const facts: NftTablesFacts = {tables: [], supported: true}
  const unusable = (message: string): Parsed<NftTablesFacts> => ({facts: {...facts, unusable: message}, problems: [problem(NFT_TABLES_PROBE, message)]})
  const {value, problem: p} = parseJson(NFT_TABLES_PROBE, text)
  if (p) return {facts: {...facts, unusable: p.message}, problems: [p]}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return unusable('expected a JSON object')
  const d = value as Record<string, unknown>
  if (typeof d.error === 'string') return unusable(`helper error: ${d.error}`)
  if (d.helper !== 'nodeinspect-bpf' || d.version !== 1 || !Array.isArray(d.tables) || typeof d.supported !== 'boolean')
    return unusable(`unknown helper output (helper ${rawJson(d.helper, 60)}, version ${rawJson(d.version, 60)}, tables ${Array.isArray(d.tables) ? 'a list' : 'not a list'})`)
  const problems: ParseProblem[] = []
  if (!d.supported) {
    facts.supported = false
    facts.note = typeof d.note === 'string' ? d.note : 'the kernel has no nf_tables'
    if (d.tables.length > 0) problems.push(problem(NFT_TABLES_PROBE, `nf_tables said to be missing, yet ${d.tables.length} table(s) listed: ignored`))
    return {facts, problems}
  }
  for (const v of d.tables) {
    const e = (v ?? {}) as Record<string, unknown>
    if (typeof e.name !== 'string' || e.name === '') {
      problems.push(problem(NFT_TABLES_PROBE, 'table entry lacks its name', undefined, rawJson(v)))
      continue
    }
    if (typeof e.family !== 'string' || !FAMILIES.has(e.family)) {
      problems.push(problem(NFT_TABLES_PROBE, `table ${shown(e.name)} of unknown family ${rawJson(e.family, 40)}: not read`))
      continue
    }
    const t: NftTableListing = {family: e.family, name: e.name}
    for (const k of ['handle', 'use', 'flags'] as const) {
      const n = e[k]
      if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) t[k] = n
    }
    facts.tables.push(t)
  }
  if (d.dump_interrupted === true) problems.push(problem(NFT_TABLES_PROBE, 'the table list kept changing while it was read (NLM_F_DUMP_INTR on every try): it may be incomplete'))
  return {facts, problems}
}
