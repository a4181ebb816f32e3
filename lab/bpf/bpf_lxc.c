/* SPDX-License-Identifier: GPL-2.0 */
/* Lab stand-in for Cilium's bpf_lxc.o: tc ingress on the host side of a pod's veth (legacy clsact). */
#include "nilab.h"

SEC("from-container")
int handle_xgress(struct __sk_buff *skb)
{
	return ni_tc_pass(skb, NI_HOOK_FROM_CONTAINER);
}

char _license[] SEC("license") = "GPL";
