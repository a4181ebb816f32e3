/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab stand-in for Cilium >= 1.16's from-container program attached with tcx (named like Cilium's).
 * Same logic as bpf_lxc.c (local delivery by tail call, else the ipcache lookup). Loaded with `bpftool prog load
 * ... map name cilium_ipcache pinned ... map name cilium_tunnel_map pinned ... map name cilium_lxc pinned ...
 * map name cilium_call_policy pinned ... map name nilab_flows pinned ...` and attached by nodeinspect-bpf.
 * Compile with -DNI_NO_PIN.
 */
#define NI_USE_IPCACHE
#define NI_USE_ENDPOINTS
#include "cilium_maps.h"

SEC("tc")
int cil_from_container(struct __sk_buff *skb)
{
	struct ni_flow_key k;

	int ipv4 = ni_observe(skb, NI_HOOK_FROM_CONTAINER, &k) == 0;

	/* The mark first: a tail call does not come back. */
	ni_apply_mark(skb);
	if (ipv4) {
		/* A pod of this node: local delivery into its to-container program (no return when the slot is filled). */
		ni_deliver_local(skb, k.daddr);
		(void)ni_tunnel_endpoint_of(k.daddr);
	}
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
