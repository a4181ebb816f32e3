/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab stand-in for Cilium's bpf_overlay.o on cilium_vxlan: from-overlay (ingress, after decapsulation)
 * and to-overlay (egress, before encapsulation). from-overlay looks the destination up in nilab_lxc
 * (the lab's cilium_lxc) and, for a local endpoint, tail-calls its to-container program through
 * nilab_calls, with the endpoint's lxc ifindex in skb->cb[0], as Cilium delivers to local pods.
 */
#include "nilab.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NI_ENDPOINTS_MAX);
	__type(key, struct ni_ep_key);
	__type(value, struct ni_ep_value);
	NI_PINNING
} nilab_lxc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, NI_CALLS_MAX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	NI_PINNING
} nilab_calls SEC(".maps");

SEC("from-overlay")
int from_overlay(struct __sk_buff *skb)
{
	struct ni_flow_key k;
	struct ni_ep_key ek;
	struct ni_ep_value *ep;

	if (ni_observe(skb, NI_HOOK_FROM_OVERLAY, &k) == 0) {
		ek.node = NI_NODE;
		ek.addr = k.daddr;
		ep = bpf_map_lookup_elem(&nilab_lxc, &ek);
		if (ep) {
			skb->cb[0] = ep->ifindex;
			ni_apply_mark(skb);
			bpf_tail_call(skb, &nilab_calls, ep->slot);
			/* Empty slot: the tail call falls through; the packet was already marked. */
			return TC_ACT_OK;
		}
	}
	ni_apply_mark(skb);
	return TC_ACT_OK;
}

SEC("to-overlay")
int to_overlay(struct __sk_buff *skb)
{
	return ni_tc_pass(skb, NI_HOOK_TO_OVERLAY);
}

char _license[] SEC("license") = "GPL";
