import type {NftTable, NftTableOwner} from '../../model/netfilter.js'

/** The table names iptables-nft creates in family ip/ip6; iptables-nft-save lists exactly these. */
const IPTABLES_TABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security'])
const IPTABLES_BASE_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'])

/**
 * nft itself prints "# Warning: table ip nat is managed by iptables-nft, do not touch!" when a table holds xt
 * statements (nftables src/rule.c, `table->has_xt_stmts`). An iptables table name with only iptables-named
 * base chains and no xt (kubelet's empty `ip mangle` with KUBE-IPTABLES-HINT) is iptables-nft's as well:
 * iptables-nft-save lists it.
 */
export function classifyOwner(t: NftTable): void {
  const baseNames = t.chains.filter((c) => c.base).map((c) => c.name)
  const iptNamed = IPTABLES_TABLES.has(t.name) && baseNames.every((n) => IPTABLES_BASE_CHAINS.has(n))
  let owner: NftTableOwner = 'nft'
  let reason: string | undefined
  if (t.family === 'ip' || t.family === 'ip6') {
    if (t.xtCount > 0) {
      owner = 'iptables-nft'
      reason = `${t.xtCount} xt expression${t.xtCount === 1 ? '' : 's'} (iptables extensions nft cannot show)`
    } else if (iptNamed) {
      owner = 'iptables-nft'
      reason = `iptables table name "${t.name}"${baseNames.length ? ` with iptables base chains (${baseNames.join(', ')})` : ' with no base chains'}`
    }
  } else if (t.family === 'bridge' && (t.xtCount > 0 || (['filter', 'nat', 'broute'].includes(t.name) && baseNames.length > 0 && baseNames.every((n) => /^[A-Z]+$/.test(n))))) {
    owner = 'ebtables-nft'
    reason = t.xtCount > 0 ? `${t.xtCount} xt expressions` : `ebtables table name "${t.name}" with upper-case base chains`
  } else if (t.family === 'arp' && (t.xtCount > 0 || (t.name === 'filter' && baseNames.length > 0 && baseNames.every((n) => /^[A-Z]+$/.test(n))))) {
    owner = 'arptables-nft'
    reason = t.xtCount > 0 ? `${t.xtCount} xt expressions` : 'arptables table "filter" with upper-case base chains'
  }
  t.owner = owner
  if (reason !== undefined) t.ownerReason = reason
  t.readThrough =
    owner === 'iptables-nft' ? (t.family === 'ip6' ? 'ip6tables-save' : 'iptables-save') : owner === 'ebtables-nft' ? 'ebtables-save' : owner === 'arptables-nft' ? 'arptables-save' : 'nft'
}

