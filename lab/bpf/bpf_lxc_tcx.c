/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab stand-in for Cilium >= 1.16's from-container program attached with tcx (named like Cilium's).
 * Loaded with `bpftool prog load ... map name nilab_flows pinned ...` and attached by nodeinspect-bpf.
 * Compile with -DNI_NO_PIN.
 */
#include "nilab.h"

SEC("tc")
int cil_from_container(struct __sk_buff *skb)
{
	return ni_tc_pass(skb, NI_HOOK_FROM_CONTAINER);
}

char _license[] SEC("license") = "GPL";
