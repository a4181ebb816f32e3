/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab stand-in for Cilium's bpf_lxc.o: tc ingress on the host side of a pod's veth (legacy clsact).
 * Like Cilium 1.12's from-container it delivers to a pod of the same node by tail call into that endpoint's
 * to-container program (cilium_lxc, cilium_call_policy), and otherwise asks cilium_ipcache (then
 * cilium_tunnel_map) where the destination lives, so the node's Cilium maps are in this program's map_ids;
 * forwarding stays with the kernel (the to-container program returns TC_ACT_OK to the stack).
 */
#define NI_USE_IPCACHE
#define NI_USE_ENDPOINTS
#include "cilium_maps.h"

SEC("from-container")
int handle_xgress(struct __sk_buff *skb)
{
	return ni_from_container(skb);
}

char _license[] SEC("license") = "GPL";
