import {nftTablesToEvaluate, type NftRuleset, type NftTable, type XtRuleset} from '../model/netfilter.js'
import type {SourceRead} from '../model/node-state.js'
import {NFT_TABLES_PROBE, nftTablesProbe} from '../probes/bpf-helper-nft-tables.js'
import {collectNftChains, collectNftTable, mergeNftRulesets, NFT_LIST_CHAINS_ARGV, parseNftChainsJson, parseNftJson, type NftTableSummary} from '../probes/nft-ruleset.js'
import type {Warning} from '../model/warning.js'
import {commandLine, type Source} from '../source/types.js'
import {sourceRead} from './readable.js'
import {take} from './run-probes.js'

/** iptables-nft creates these tables (in families ip and ip6); iptables-save shows them in full. */
const XT_TABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security'])

const CHAINS_PROBE = commandLine(NFT_LIST_CHAINS_ARGV)

/** A table as the table list names it. */
type TableName = Pick<NftTableSummary, 'family' | 'name'>

export interface NativeNftRead {
  /** The native tables to evaluate (nftTablesToEvaluate); absent when no table list could be read. */
  nft?: {tables: NftTable[]; creationOrder: string[]}
  /** What marks says of this source: read, or why not. */
  read: SourceRead
}

/**
 * The nft tables whose rules iptables-save does not show: every table but the ones an iptables-save dump of the
 * same family printed (and did not call incompatible), listed one by one with `nft -j list table`. Never
 * `nft -j list ruleset`, which would also dump every iptables-nft rule (6-8 s and 1 GB on a kube-proxy-sized node
 * here). Returns the tables to evaluate (nftTablesToEvaluate) and every table, iptables-nft's included, in the
 * order they were made (nf_tables_newtable appends each new table to the netns's list, and a listing walks that
 * list). A node whose only tables are the ones iptables-save showed runs no nft at all.
 *
 * The table list comes from the helper (`nodeinspect-bpf nft-tables`, one nfnetlink dump); from
 * `nft -j list chains` only where the helper could not answer (not built, an older build, an error) or, replaying
 * a snapshot, was not recorded: older snapshots hold the chain list, and replay as they were taken.
 *
 * Started before the iptables dumps end: the tables no iptables-save could show (a name iptables-nft never uses)
 * are listed at once; only the filter/nat/mangle/raw/security tables wait for the dumps, which say whether
 * iptables-save showed them.
 */
export async function collectNativeNftTables(src: Source, xtP: Promise<readonly XtRuleset[]>, warnings: Warning[]): Promise<NativeNftRead> {
  const listed = await readTableList(src, warnings)
  if (!listed.tables) return {read: listed.read}
  const summaries = listed.tables
  const list = (t: TableName) => collectNftTable(src, t.family, t.name)
  const early = new Map(summaries.filter((t) => !XT_TABLES.has(t.name)).map((t) => [t, list(t)]))
  const xt = await xtP
  const shownByIptables = new Set<string>()
  for (const rs of xt) {
    if (rs.backend !== 'nft') continue
    const fam = rs.family === 'ipv4' ? 'ip' : 'ip6'
    for (const t of rs.tables) if (t.committed && !rs.incompatibleTables.includes(t.name)) shownByIptables.add(`${fam} ${t.name}`)
  }
  const toList = summaries.filter((t) => !(XT_TABLES.has(t.name) && shownByIptables.has(`${t.family} ${t.name}`)))
  const outs = await Promise.all(toList.map((t) => early.get(t) ?? list(t)))
  const parts = outs.map((o) => take(o.argv.join(' '), o, (x) => parseNftJson(x.stdout), undefined as NftRuleset | undefined, warnings)).filter((x): x is NftRuleset => !!x)
  // Tables to read and none could be: the nft source was not read (each table's warning says why).
  const failed = outs.find((o) => o.failure)
  const read = outs.length > 0 && outs.every((o) => o.failure) ? {probe: 'nft -j list table', failure: failed!.message ?? `${commandLine(failed!.argv)}: failed`} : listed.read
  return {nft: {tables: nftTablesToEvaluate(mergeNftRulesets(parts), xt), creationOrder: summaries.map((t) => `${t.family} ${t.name}`)}, read}
}

/** Every table in the kernel's order, from the helper or else from nft's chain list; undefined when neither answered. */
async function readTableList(src: Source, warnings: Warning[]): Promise<{tables?: TableName[]; read: SourceRead}> {
  const out = await src.run(nftTablesProbe.request)
  const parsed = out.failure ? undefined : nftTablesProbe.parse(out)
  if (parsed && parsed.facts.unusable === undefined) {
    // Its problems (a table of an unknown family, an interrupted dump) become warnings; the list is still the answer.
    const facts = take(NFT_TABLES_PROBE, out, () => parsed, nftTablesProbe.empty, warnings)
    // No nf_tables in the kernel: no nft table, and no iptables-nft one either; said once, as a fact of the node.
    if (!facts.supported) warnings.push({probe: NFT_TABLES_PROBE, kind: 'unsupported', message: `${NFT_TABLES_PROBE}: ${facts.note ?? 'the kernel has no nf_tables'}`})
    return {tables: facts.tables, read: {probe: NFT_TABLES_PROBE}}
  }

  // The helper could not answer: nft's chain list names every table, in the same order.
  const chainsOut = await collectNftChains(src)
  const read = sourceRead(CHAINS_PROBE, chainsOut)
  if (chainsOut.failure === 'missing-binary' || chainsOut.failure === 'not-recorded') {
    if (chainsOut.failure === 'missing-binary') warnings.push({probe: CHAINS_PROBE, kind: 'missing-binary', message: chainsOut.message ?? 'nft is not installed: native nftables rules are not read'})
    return {read}
  }
  const summaries = take(CHAINS_PROBE, chainsOut, (o) => parseNftChainsJson(o.stdout), undefined as NftTableSummary[] | undefined, warnings)
  // Why the helper did not answer, unless nothing is lost by not saying: it is not there (hooks says so), or older
  // than nft-tables, or not in the snapshot, or nft failed the same way (both need CAP_NET_ADMIN, both need nsenter).
  const oldHelper = out.failure === 'exit' && /unknown subcommand/.test(out.stdout + out.stderr)
  const quiet = out.failure === 'missing-binary' || out.failure === 'not-recorded' || oldHelper || (out.failure !== undefined && out.failure === chainsOut.failure)
  if (!quiet) {
    const why = parsed?.facts.unusable ?? out.message ?? `${NFT_TABLES_PROBE}: failed`
    warnings.push({probe: NFT_TABLES_PROBE, kind: out.failure ?? 'parse', message: `native nft tables: ${why}: listed with ${CHAINS_PROBE} instead`})
  }
  return {...(summaries ? {tables: summaries} : {}), read}
}
