#!/bin/bash
# Regenerate edge-native.nft.json: load edge-native.nft into a throwaway netns and list it with nft -j (root only).
set -euo pipefail
cd "$(dirname "$0")"
ns="ni-t$$-nfe-gen"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip netns exec "$ns" nft -f edge-native.nft
ip netns exec "$ns" nft -j list ruleset > edge-native.nft.json
echo >> edge-native.nft.json

# iptables-nft-xt.nft.json: what nft -j shows of iptables-nft rules it cannot translate back (xt expressions).
ns2="ni-t$$-nfe-gen2"
ip netns add "$ns2"
trap 'ip netns del "$ns"; ip netns del "$ns2"' EXIT
ip netns exec "$ns2" iptables-restore < iptables-nft-xt.iptables-save
ip netns exec "$ns2" nft -j list table ip mangle > iptables-nft-xt.nft.json
echo >> iptables-nft-xt.nft.json
