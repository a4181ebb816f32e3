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
	return ni_from_container(skb);
}

char _license[] SEC("license") = "GPL";
