#!/usr/bin/env bash
# Builds testdata/snapshots/marks-node.json: a real snapshot (`nodeinspect snapshot --netns`) of a throwaway
# netns holding the marks of several owners: kube-proxy (iptables and the k3s nftables-mode table from
# testdata/fixtures), Cilium's nibble rules and ip rule, an Istio-style whole-mark writer and exact-value ip rule,
# a whole-connmark restore, a Cilium-style xfrm policy, and a socket with SO_MARK 0x80000 held by a process named
# tailscaled (Tailscale's bypass mark). Run as root from the repository: bash testdata/snapshots/make-marks-node.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ns="ni-t$$-marksnode"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
in_ns() { nsenter --net="/run/netns/$ns" -- "$@"; }
in_ns ip link set lo up
in_ns iptables-restore < testdata/marks-analysis/collide.iptables-save
in_ns nft -f testdata/fixtures/nft/k3s-kube-proxy-nftables-mode-table.txt
ip -n "$ns" rule add pref 9 fwmark 0x200/0xf00 lookup 2004
ip -n "$ns" rule add pref 100 fwmark 0x539 lookup 133
ip -n "$ns" rule add pref 5270 fwmark 0x80000/0xff0000 lookup 52
ip -n "$ns" xfrm policy add dir out src 10.42.0.0/16 dst 10.42.0.0/16 mark 0xe00 mask 0xf00 \
  tmpl src 192.168.1.12 dst 192.168.1.13 proto esp reqid 1 mode tunnel
# A UDP socket with SO_MARK (36) = 0x80000, in a process whose name (comm) is tailscaled.
in_ns python3 -c '
import ctypes, socket, time
ctypes.CDLL(None).prctl(15, b"tailscaled", 0, 0, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 36, 0x80000)
s.bind(("127.0.0.1", 41641))
time.sleep(60)
' &
pid=$!
sleep 0.5
./bin/run.js snapshot --netns "$ns" -o testdata/snapshots/marks-node.json
