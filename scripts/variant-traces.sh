#!/usr/bin/env bash
# Prints README's "CNI variants, traced" blocks from real runs: for each lab variant, lab up under a throwaway
# prefix, one `nodeinspect trace` of its telling flow (text, no colour, 110 columns), lab down. Needs root; only the
# lab's namespaces are touched. Usage: bash scripts/variant-traces.sh > /tmp/traces.md
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="nidoc$$"
trap './bin/run.js lab down --prefix "$prefix" >/dev/null 2>&1 || true' EXIT
show() { # variant what args...
  local variant=$1 what=$2; shift 2
  ./bin/run.js lab up --prefix "$prefix" --variant "$variant" >/dev/null
  local args=("$@" --netns "$prefix-node1" --netns "$prefix-node2")
  printf '<details><summary><code>%s</code>: %s</summary>\n\n```\n$ nodeinspect trace %s\n' "$variant" "$what" "$(echo "${args[*]}" | sed "s/$prefix/nilab/g")"
  NO_COLOR=1 COLUMNS=110 ./bin/run.js trace "${args[@]}" | sed "s/$prefix/nilab/g"
  printf '```\n\n</details>\n\n'
  ./bin/run.js lab down --prefix "$prefix" >/dev/null
}
show bridge 'pod to pod across nodes, bridged on cni0 and carried by flannel.1' 10.244.1.2 10.244.2.7:80
show routed 'routed /32 pods over vxlan.calico, Felix-shaped chains marking 0x10000' 10.65.136.5 10.65.209.70:80
show iptables-kube-proxy 'a Service whose endpoint is on the same bridge: the SYN arrives, the SYN-ACK never comes back' 10.244.1.2 10.96.0.81:80 --reply
show nft-kube-proxy 'a UDP Service in nftables mode: vmap, numgen, dnat, masquerade by mark' 10.244.1.2 10.96.0.53:53 --proto udp
show policy-routing 'policy-routed egress out a second uplink with SNAT, and its answer' 10.244.1.2 203.0.113.10:80 --reply
show notrack 'the outer VXLAN packet untracked, the inner one NEW and DNATed on node 2' 10.244.1.2 10.244.2.7:8080
show br-netfilter 'a bridged frame dropped in filter FORWARD (br_netfilter on)' 10.244.1.2 10.244.1.3:6379
