#!/usr/bin/env bash
# Records the helper's `netns-dump` output for the parser tests (test/probes/netns-dump.test.ts): a throwaway "node"
# netns with two pods behind veths (IPv4 /32 and IPv6 addresses, a gateway route, an onlink route, a route in
# table 100), a stale /run/netns entry (a plain file) and a missing name; read as root (root.json) and as uid 65534
# (nonroot.json). Run as root from the repository after `npm run build`: bash testdata/netns-dump/make.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
p="ni-t$$"
helper=native/build/nodeinspect-bpf
cleanup() { for n in node pod-a pod-b; do ip netns del "$p-$n" 2>/dev/null || true; done; rm -f "/run/netns/$p-stale"; }
trap cleanup EXIT
for n in node pod-a pod-b; do ip netns add "$p-$n"; ip -n "$p-$n" link set lo up; done
i=0
for pod in pod-a pod-b; do
  i=$((i + 1))
  ip -n "$p-node" link add "lxc$i" type veth peer name eth0 netns "$p-$pod"
  ip -n "$p-node" link set "lxc$i" up
  ip -n "$p-$pod" link set eth0 up
  ip -n "$p-$pod" addr add "10.42.1.8$i/32" dev eth0
  ip -n "$p-$pod" -6 addr add "fd00:42::8$i/128" dev eth0 nodad
  ip -n "$p-$pod" route add 10.42.1.247 dev eth0 scope link
  ip -n "$p-$pod" route add default via 10.42.1.247 dev eth0 mtu 1450
  ip -n "$p-$pod" route add 10.99.0.0/16 via 10.42.1.247 dev eth0 onlink table 100
done
touch "/run/netns/$p-stale"
names=("$p-pod-a" "$p-pod-b" "$p-stale" "$p-missing")
"$helper" netns-dump "${names[@]}" > testdata/netns-dump/root.json
setpriv --reuid=65534 --regid=65534 --clear-groups "$helper" netns-dump "${names[@]}" > testdata/netns-dump/nonroot.json
# What iproute2 prints for the same namespace, to compare field by field.
ip -n "$p-pod-a" -j -d addr show > testdata/netns-dump/pod-a.ip-addr.json
ip -n "$p-pod-a" -j route show table all > testdata/netns-dump/pod-a.ip-route.json
echo "wrote testdata/netns-dump/{root,nonroot,pod-a.ip-addr,pod-a.ip-route}.json (prefix $p)"
