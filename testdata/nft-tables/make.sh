#!/usr/bin/env bash
# Records the helper's `nft-tables` output for the parser tests (test/probes/bpf-helper-nft-tables.test.ts), with
# what nft lists for the same netns: a throwaway netns with iptables-nft tables (ip mangle and nat, ip6 raw) and
# native tables of five families made between them (a base chain with a mark rule, a named set, a counter, a
# dormant table). Nothing to normalise: a fresh netns numbers its table handles from 1.
# Run as root from the repository after `npm run build`: bash testdata/nft-tables/make.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ns="ni-t$$-nfttables"
helper=native/build/nodeinspect-bpf
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip netns add "$ns"
inns() { nsenter --net="/run/netns/$ns" -- "$@"; }
inns iptables-restore <<'RULES'
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j MARK --set-xmark 0x40/0x40
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -j KUBE-SERVICES
COMMIT
RULES
inns nft -f - <<'NFT'
table inet ni_a {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		meta mark set meta mark | 0x10
	}
}
table ip ni_b {
	set allowed { type ipv4_addr; }
	counter seen { }
	chain x { ip saddr @allowed counter name "seen" accept; }
}
table arp ni_c {
	chain arp_in { type filter hook input priority 0; }
}
table netdev ni_d {
}
table bridge ni_e {
	flags dormant
	chain br_fwd { type filter hook forward priority 0; }
}
NFT
inns ip6tables -t raw -A PREROUTING -j ACCEPT
inns "$helper" nft-tables > testdata/nft-tables/helper.json
inns nft -j list chains > testdata/nft-tables/nft-list-chains.json
inns nft -j list ruleset > testdata/nft-tables/nft-list-ruleset.json
echo "wrote testdata/nft-tables/{helper,nft-list-chains,nft-list-ruleset}.json"
