import {nftTablesToEvaluate, type NftRuleset, type NftTable, type XtRuleset} from '../model/netfilter.js'
import {collectNftTable, mergeNftRulesets, parseNftChainsJson, parseNftJson, type NftTableSummary} from '../probes/nft-ruleset.js'
import type {Warning} from '../model/warning.js'
import type {RawOutput, Source} from '../source/types.js'
import {take} from './run-probes.js'

/** iptables-nft creates these tables (in families ip and ip6); iptables-save shows them in full. */
const XT_TABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security'])

/**
 * The nft tables whose rules iptables-save does not show: every table but the ones an iptables-save dump of the
 * same family printed (and did not call incompatible), listed one by one with `nft -j list table` after the
 * cheap `nft -j list chains`. Never `nft -j list ruleset`, which would also dump every iptables-nft rule (6-8 s
 * and 1 GB on a kube-proxy-sized node here). Returns the tables to evaluate (nftTablesToEvaluate) and every
 * table, iptables-nft's included, in the order nft lists them, which is the order they were made
 * (nf_tables_newtable appends each new table to the netns's list, and a listing walks that list).
 *
 * Started before the iptables dumps end: the chain list is parsed when it arrives, and the tables no
 * iptables-save could show (a name iptables-nft never uses) are listed at once; only the filter/nat/mangle/raw/
 * security tables wait for the dumps, which say whether iptables-save showed them.
 */
export async function collectNativeNftTables(src: Source, chainsP: Promise<RawOutput>, xtP: Promise<readonly XtRuleset[]>, warnings: Warning[]): Promise<{tables: NftTable[]; creationOrder: string[]} | undefined> {
  const chainsOut = await chainsP
  if (chainsOut.failure === 'missing-binary' || chainsOut.failure === 'not-recorded') {
    if (chainsOut.failure === 'missing-binary') warnings.push({probe: 'nft -j list chains', kind: 'missing-binary', message: chainsOut.message ?? 'nft is not installed: native nftables rules are not read'})
    return undefined
  }
  const summaries = take('nft -j list chains', chainsOut, (o) => parseNftChainsJson(o.stdout), undefined as NftTableSummary[] | undefined, warnings)
  if (!summaries) return undefined
  const list = (t: NftTableSummary) => collectNftTable(src, t.family, t.name)
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
  return {tables: nftTablesToEvaluate(mergeNftRulesets(parts), xt), creationOrder: summaries.map((t) => `${t.family} ${t.name}`)}
}
