/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A "foreign" (non-Cilium) tcx ingress program placed first on node 2's eth0, like the foreign
 * programs of the kind-clab fixture. It returns TCX_NEXT (TC_ACT_UNSPEC): with tcx, any other verdict,
 * TC_ACT_OK included, ends the chain and the legacy clsact programs (Cilium's from-netdev) never run.
 * Compile with -DNI_NO_PIN.
 */
#include "nilab.h"

#ifndef TCX_NEXT
#define TCX_NEXT (-1)
#endif

SEC("tc")
int foreign_ingress(struct __sk_buff *skb)
{
	struct ni_flow_key k;

	ni_observe(skb, NI_HOOK_FOREIGN, &k);
	ni_apply_mark(skb);
	return TCX_NEXT;
}

char _license[] SEC("license") = "GPL";
