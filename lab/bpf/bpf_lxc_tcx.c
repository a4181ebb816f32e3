/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab stand-in for Cilium >= 1.16's from-container program attached with tcx (named like Cilium's).
 * Loaded with `bpftool prog load ... map name cilium_ipcache pinned ... map name cilium_tunnel_map pinned ...
 * map name nilab_flows pinned ...` and attached by nodeinspect-bpf. Compile with -DNI_NO_PIN.
 */
#define NI_USE_IPCACHE
#include "cilium_maps.h"

SEC("tc")
int cil_from_container(struct __sk_buff *skb)
{
	struct ni_flow_key k;

	if (ni_observe(skb, NI_HOOK_FROM_CONTAINER, &k) == 0)
		(void)ni_tunnel_endpoint_of(k.daddr);
	ni_apply_mark(skb);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
