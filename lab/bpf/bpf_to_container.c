/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab stand-in for Cilium's per-endpoint to-container policy program: not attached to any hook, only
 * reached by a tail call from from-overlay. Records under the endpoint's lxc ifindex (skb->cb[0]).
 * Loaded with `bpftool prog load ... type classifier map name nilab_flows pinned ...`: -DNI_NO_PIN.
 */
#include "nilab.h"

SEC("to-container")
int handle_policy(struct __sk_buff *skb)
{
	struct ni_flow_key k;

	__builtin_memset(&k, 0, sizeof(k));
	if (ni_flow_of(skb, &k) == 0) {
		k.node = NI_NODE;
		k.hook = NI_HOOK_TO_CONTAINER;
		k.ifindex = skb->cb[0];
		ni_record(&k, skb->mark);
	}
	ni_apply_mark(skb);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
