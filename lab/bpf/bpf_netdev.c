/* SPDX-License-Identifier: GPL-2.0 */
/* Lab stand-in for Cilium's bpf_host.c, built per device as bpf_netdev_<dev>.o: tc on the node's eth0. */
#include "nilab.h"

SEC("from-netdev")
int from_netdev(struct __sk_buff *skb)
{
	return ni_tc_pass(skb, NI_HOOK_FROM_NETDEV);
}

SEC("to-netdev")
int to_netdev(struct __sk_buff *skb)
{
	return ni_tc_pass(skb, NI_HOOK_TO_NETDEV);
}

char _license[] SEC("license") = "GPL";
