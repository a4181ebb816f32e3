#!/usr/bin/env bash
# Benchmark (not a test): `nodeinspect marks` on a kube-proxy-sized node, 10,000 Services × 3 endpoints
# (~110k iptables rules) loaded into a throwaway netns, next to the raw readers, each timed alone with
# /usr/bin/time (wall seconds, peak RSS). Usage: bash bench/marks-scale.sh [SERVICES] [ENDPOINTS]
set -euo pipefail
cd "$(dirname "$0")/.."
ns="ni-t$$-kubeproxy"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
rules=$(mktemp)
node bench/kube-proxy-rules.mjs "${1:-10000}" "${2:-3}" > "$rules"
ip netns add "$ns"
/usr/bin/time -f "iptables-restore: %e s, peak %M KB" nsenter --net="/run/netns/$ns" iptables-restore < "$rules"
echo "rules loaded: $(grep -c '^-A' "$rules")"
run() { /usr/bin/time -f "$1: %e s, peak %M KB" "${@:2}" > /dev/null; }
for i in 1 2 3; do
  echo "-- round $i"
  run "iptables-save" nsenter --net="/run/netns/$ns" iptables-save
  run "nft list ruleset" nsenter --net="/run/netns/$ns" nft list ruleset
  run "nft -j list ruleset" nsenter --net="/run/netns/$ns" nft -j list ruleset
  run "nft -j list chains" nsenter --net="/run/netns/$ns" nft -j list chains
  run "nodeinspect-bpf nft-tables" nsenter --net="/run/netns/$ns" native/build/nodeinspect-bpf nft-tables
  run "nodeinspect marks --json" ./bin/run.js marks --netns "$ns" --json
done
rm -f "$rules"
