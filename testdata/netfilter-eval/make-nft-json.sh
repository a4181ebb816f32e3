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
