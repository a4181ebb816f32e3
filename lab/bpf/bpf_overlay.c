/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab stand-in for Cilium's bpf_overlay.o on cilium_vxlan: from-overlay (ingress, after decapsulation)
 * and to-overlay (egress, before encapsulation). from-overlay delivers to local endpoints as Cilium 1.12
 * does (docs/scenario.md#the-walk, steps 6-7): it looks the inner destination up in cilium_lxc and tail-calls
 * cilium_call_policy[endpoint id], the endpoint's to-container program, with the endpoint's lxc ifindex in
 * skb->cb[0] (Cilium passes it in the CB_IFINDEX slot of the control buffer).
 */
#define NI_USE_ENDPOINTS
#include "cilium_maps.h"

SEC("from-overlay")
int from_overlay(struct __sk_buff *skb)
{
	struct ni_flow_key k;
	struct ni_endpoint_key ek = {};
	struct ni_endpoint_info *ep;

	if (ni_observe(skb, NI_HOOK_FROM_OVERLAY, &k) == 0) {
		ek.ip4 = k.daddr;
		ek.family = NI_CILIUM_FAMILY_IPV4;
		ep = bpf_map_lookup_elem(&cilium_lxc, &ek);
		/* A host entry (the node's own addresses) goes to the stack, as in Cilium. */
		if (ep && !(ep->flags & NI_ENDPOINT_F_HOST)) {
			skb->cb[0] = ep->ifindex;
			ni_apply_mark(skb);
			bpf_tail_call(skb, &cilium_call_policy, ep->lxc_id);
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
