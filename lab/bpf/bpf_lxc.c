/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab stand-in for Cilium's bpf_lxc.o: tc ingress on the host side of a pod's veth (legacy clsact).
 * Like Cilium 1.12's from-container it asks cilium_ipcache (then cilium_tunnel_map) where the destination
 * lives, so the node's Cilium maps are in this program's map_ids; forwarding stays with the kernel.
 */
#define NI_USE_IPCACHE
#include "cilium_maps.h"

SEC("from-container")
int handle_xgress(struct __sk_buff *skb)
{
	struct ni_flow_key k;

	if (ni_observe(skb, NI_HOOK_FROM_CONTAINER, &k) == 0)
		(void)ni_tunnel_endpoint_of(k.daddr);
	ni_apply_mark(skb);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
