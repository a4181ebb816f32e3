/* SPDX-License-Identifier: GPL-2.0 */
/* Lab stand-in for Cilium's bpf_xdp.o (section from-netdev, as Cilium names it). Compile with -DNI_XDP. */
#include "nilab.h"

SEC("from-netdev")
int bpf_xdp_entry(struct xdp_md *ctx)
{
	struct ni_flow_key k;

	ni_observe(ctx, NI_HOOK_XDP, &k);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
