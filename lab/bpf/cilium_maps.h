/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nodeinspect lab: Cilium's datapath maps with Cilium's names and Cilium 1.12's layouts (docs/scenario.md's
 * version), restated from Cilium's bpf/lib/common.h and bpf/lib/maps.h. `lab up` creates the maps itself,
 * without BTF as Cilium 1.12's were (`bpftool map create … name cilium_ipcache`), one set per lab node pinned
 * under <lab bpffs>/<node>/tc/globals, fills them, and loads the programs with TC_BPF_MNT=<lab bpffs>/<node>
 * so that libbpf reuses those pins: each node's programs use that node's maps. src/lab/cilium-maps.ts writes
 * the entries byte for byte in these layouts: change both together.
 *
 * A program declares the maps it uses by defining, before including this file:
 *   NI_USE_IPCACHE       cilium_ipcache + cilium_tunnel_map (from-container: where does the destination live?)
 *   NI_USE_ENDPOINTS     cilium_lxc + cilium_call_policy (from-overlay and from-container: local delivery by
 *                        tail call)
 * Only those maps go into the object: libbpf creates every map an object declares, and a map not replaced
 * by a pin (bpftool `map name … pinned …` for NI_NO_PIN objects) would be a second, private map of that name.
 */
#ifndef NILAB_CILIUM_MAPS_H
#define NILAB_CILIUM_MAPS_H

#include "nilab.h"

/* Cilium's ENDPOINT_KEY_IPV4 / ENDPOINT_KEY_IPV6. */
#define NI_CILIUM_FAMILY_IPV4 1

/* LPM key: prefixlen counts the 32 bits of pad1, pad2 and family before the address. 24 bytes. */
struct ni_ipcache_key {
	struct bpf_lpm_trie_key lpm_key;
	__u16 pad1;
	__u8 pad2;
	__u8 family;
	__be32 ip4;
	__u32 ip6_rest[3];
} __attribute__((packed));

#define NI_IPCACHE_STATIC_PREFIX 32

/* Cilium 1.12 remote_endpoint_info: 12 bytes (u8 key, then 3 bytes of padding). */
struct ni_remote_endpoint_info {
	__u32 sec_label;
	__be32 tunnel_endpoint;
	__u8 key;
};

/* endpoint_key: the key of cilium_lxc, and key and value of the 1.12 tunnel map. 20 bytes. */
struct ni_endpoint_key {
	__be32 ip4;
	__u32 ip6_rest[3];
	__u8 family;
	__u8 key;
	__u16 pad5;
} __attribute__((packed));

/* endpoint_info: the value of cilium_lxc. 48 bytes (a 4-byte hole before mac). */
struct ni_endpoint_info {
	__u32 ifindex;   /* the host-side lxc device */
	__u16 unused;
	__u16 lxc_id;    /* the endpoint id: its slot in cilium_call_policy */
	__u32 flags;     /* NI_ENDPOINT_F_HOST: an address of the node itself */
	__u64 mac;       /* the pod's MAC (6 bytes in memory order) */
	__u64 node_mac;  /* the lxc device's MAC */
	__u32 pad[4];
};

#define NI_ENDPOINT_F_HOST 1

/* Sizes, max_entries and flags exactly as `lab up` creates the maps (libbpf only reuses an equal pin). */
#define NI_IPCACHE_MAX 512000
#define NI_ENDPOINTS_MAX 65535
#define NI_TUNNEL_MAX 65536
#define NI_POLICY_PROG_MAX 65535

#ifdef NI_USE_IPCACHE
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NI_IPCACHE_MAX);
	__type(key, struct ni_ipcache_key);
	__type(value, struct ni_remote_endpoint_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	NI_PINNING
} cilium_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NI_TUNNEL_MAX);
	__type(key, struct ni_endpoint_key);
	__type(value, struct ni_endpoint_key);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	NI_PINNING
} cilium_tunnel_map SEC(".maps");

/* The tunnel map is keyed by the remote pod CIDR (Cilium 1.12's IPV4_MASK, a /24 in the lab). */
#define NI_POD_CIDR_MASK bpf_htonl(0xffffff00)

/*
 * What Cilium 1.12's from-container asks before it encapsulates: the destination's identity and tunnel
 * endpoint in cilium_ipcache, else the tunnel endpoint of its pod CIDR in cilium_tunnel_map. The lab only
 * looks (forwarding stays with the kernel's routes and the VXLAN device); the answer is the tunnel endpoint,
 * 0 for a local or unknown destination.
 */
static __always_inline __be32 ni_tunnel_endpoint_of(__be32 daddr)
{
	struct ni_ipcache_key ik = {};
	struct ni_endpoint_key tk = {};
	struct ni_remote_endpoint_info *info;
	struct ni_endpoint_key *tunnel;

	ik.lpm_key.prefixlen = NI_IPCACHE_STATIC_PREFIX + 32;
	ik.family = NI_CILIUM_FAMILY_IPV4;
	ik.ip4 = daddr;
	info = bpf_map_lookup_elem(&cilium_ipcache, &ik);
	if (info && info->tunnel_endpoint)
		return info->tunnel_endpoint;
	tk.ip4 = daddr & NI_POD_CIDR_MASK;
	tk.family = NI_CILIUM_FAMILY_IPV4;
	tunnel = bpf_map_lookup_elem(&cilium_tunnel_map, &tk);
	return tunnel ? tunnel->ip4 : 0;
}
#endif /* NI_USE_IPCACHE */

#ifdef NI_USE_ENDPOINTS
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NI_ENDPOINTS_MAX);
	__type(key, struct ni_endpoint_key);
	__type(value, struct ni_endpoint_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	NI_PINNING
} cilium_lxc SEC(".maps");

/* Cilium's POLICY_CALL_MAP: endpoint id -> the endpoint's to-container (ingress policy) program. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, NI_POLICY_PROG_MAX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	NI_PINNING
} cilium_call_policy SEC(".maps");

/*
 * Cilium's local delivery (bpf_lxc.c ipv4_local_delivery, docs/scenario.md#the-walk step 7): a destination that is an endpoint
 * of this node (not one of the node's own addresses) goes to that endpoint's policy program, a tail call into
 * cilium_call_policy[endpoint id], with the endpoint's lxc ifindex in skb->cb[0]. Returns only when the
 * destination is no local endpoint or its slot is empty; the caller then passes the packet on.
 */
static __always_inline void ni_deliver_local(struct __sk_buff *skb, __be32 daddr)
{
	struct ni_endpoint_key ek = {};
	struct ni_endpoint_info *ep;

	ek.ip4 = daddr;
	ek.family = NI_CILIUM_FAMILY_IPV4;
	ep = bpf_map_lookup_elem(&cilium_lxc, &ek);
	if (ep && !(ep->flags & NI_ENDPOINT_F_HOST)) {
		skb->cb[0] = ep->ifindex;
		bpf_tail_call(skb, &cilium_call_policy, ep->lxc_id);
	}
}
#endif /* NI_USE_ENDPOINTS */

#if defined(NI_USE_IPCACHE) && defined(NI_USE_ENDPOINTS)
/*
 * Cilium's from-container, as the lab plays it (bpf_lxc.c, tc; bpf_lxc_tcx.c, tcx): record, apply the lab's mark,
 * deliver to a pod of this node by tail call, else ask cilium_ipcache; forwarding stays with the kernel.
 */
static __always_inline int ni_from_container(struct __sk_buff *skb)
{
	struct ni_flow_key k;

	int ipv4 = ni_observe(skb, NI_HOOK_FROM_CONTAINER, &k) == 0;

	/* The mark first: a tail call does not come back. */
	ni_apply_mark(skb);
	if (ipv4) {
		/* A pod of this node: local delivery into its to-container program (no return when the slot is filled). */
		ni_deliver_local(skb, k.daddr);
		(void)ni_tunnel_endpoint_of(k.daddr);
	}
	return TC_ACT_OK;
}
#endif

#endif /* NILAB_CILIUM_MAPS_H */
