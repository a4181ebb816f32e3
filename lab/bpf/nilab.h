/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nodeinspect lab: the one definition of the flow-recording map shared by every lab program.
 *
 * Every lab program passes the packet (TC_ACT_OK, TCX_NEXT for the "foreign" tcx program, XDP_PASS)
 * and counts it in the pinned hash map `nilab_flows`: which node, which hook, which device saw which
 * IPv4 flow, and with which skb->mark. src/lab/recording.ts (sizes) and test/support/flow-records.ts
 * (decoding) mirror this layout byte for byte: change them together.
 *
 * Compile-time switches:
 *   -DNI_NODE=1|2      node id written into every key (required)
 *   -DNI_XDP           build for XDP (bpf_xdp_load_bytes, no skb->mark: marks are recorded as 0)
 *   -DNI_NO_PIN        declare the maps without LIBBPF_PIN_BY_NAME: for objects loaded with
 *                      `bpftool prog load ... map name nilab_flows pinned PATH` (bpftool would otherwise
 *                      try to pin them under /sys/fs/bpf). tc/ip load the pinned variant with
 *                      TC_BPF_MNT=<lab bpffs>/<node>, where `lab up` has pinned nilab_flows (one map for both
 *                      nodes) and the node's own Cilium maps (cilium_maps.h) beforehand.
 *   -DNI_MARK_OR=0x..  variant that ORs a constant into skb->mark after recording (baseline: unset,
 *                      the mark is never changed). The recorded marks are those the hook saw on entry.
 */
#ifndef NILAB_H
#define NILAB_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef NI_NODE
#error "compile with -DNI_NODE=<node id>"
#endif

/* Hook ids, in key.hook. Mirror: FLOW_HOOKS in test/support/flow-records.ts. */
enum ni_hook {
	NI_HOOK_FROM_CONTAINER = 1, /* lxc tc/tcx ingress: packets leaving the pod */
	NI_HOOK_TO_CONTAINER = 2,   /* tail call from from-overlay: delivery to a local pod */
	NI_HOOK_FROM_OVERLAY = 3,   /* cilium_vxlan tc ingress (already decapsulated) */
	NI_HOOK_TO_OVERLAY = 4,     /* cilium_vxlan tc egress (before encapsulation) */
	NI_HOOK_FROM_NETDEV = 5,    /* eth0 tc ingress */
	NI_HOOK_TO_NETDEV = 6,      /* eth0 tc egress */
	NI_HOOK_XDP = 7,            /* eth0 XDP (driver mode) */
	NI_HOOK_FOREIGN = 8,        /* a non-Cilium tcx program placed before Cilium's */
};

/* key.flags */
#define NI_FLAG_ENCAP 0x01 /* the packet was VXLAN on the wire: the key holds the inner flow */

/* Cilium's VXLAN port. */
#define NI_VXLAN_PORT 8472

/* 20 bytes, no padding. Addresses and ports in network byte order, ifindex in host order. */
struct ni_flow_key {
	__u8 node;
	__u8 hook;
	__u8 proto;
	__u8 flags;
	__u32 ifindex;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
};

/* 16 bytes, host byte order. */
struct ni_flow_value {
	__u64 packets;
	__u32 first_mark;
	__u32 last_mark;
};

#ifdef NI_NO_PIN
#define NI_PINNING
#else
#define NI_PINNING __uint(pinning, LIBBPF_PIN_BY_NAME);
#endif

#define NI_FLOWS_MAX 8192

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NI_FLOWS_MAX);
	__type(key, struct ni_flow_key);
	__type(value, struct ni_flow_value);
	NI_PINNING
} nilab_flows SEC(".maps");

#ifdef NI_XDP
#define NI_CTX struct xdp_md
#define ni_load(ctx, off, to, len) bpf_xdp_load_bytes((ctx), (off), (to), (len))
#define ni_ctx_mark(ctx) 0
#define ni_ctx_ifindex(ctx) ((ctx)->ingress_ifindex)
#else
#define NI_CTX struct __sk_buff
#define ni_load(ctx, off, to, len) bpf_skb_load_bytes((ctx), (off), (to), (len))
#define ni_ctx_mark(ctx) ((ctx)->mark)
#define ni_ctx_ifindex(ctx) ((ctx)->ifindex)
#endif

/* Parse an IPv4 header at off into the 5-tuple of k. Returns the header length, or -1. */
static __always_inline int ni_parse_ipv4(NI_CTX *ctx, __u32 off, struct ni_flow_key *k)
{
	struct iphdr ip;
	__be16 ports[2];
	int hlen;

	if (ni_load(ctx, off, &ip, sizeof(ip)))
		return -1;
	if (ip.version != 4 || ip.ihl < 5)
		return -1;
	hlen = ip.ihl * 4;
	k->saddr = ip.saddr;
	k->daddr = ip.daddr;
	k->proto = ip.protocol;
	k->sport = 0;
	k->dport = 0;
	/* Non-first fragments carry no ports. */
	if (ip.frag_off & bpf_htons(0x1fff))
		return hlen;
	if (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP) {
		if (ni_load(ctx, off + hlen, ports, sizeof(ports)) == 0) {
			k->sport = ports[0];
			k->dport = ports[1];
		}
	}
	return hlen;
}

/*
 * The flow of an Ethernet frame: its IPv4 5-tuple or, for VXLAN (UDP to NI_VXLAN_PORT), the inner
 * IPv4 5-tuple with NI_FLAG_ENCAP. Returns 0 when k was filled, -1 for anything else (ARP, IPv6...).
 */
static __always_inline int ni_flow_of(NI_CTX *ctx, struct ni_flow_key *k)
{
	struct ethhdr eth;
	struct ni_flow_key inner;
	int hlen;
	__u32 off;

	if (ni_load(ctx, 0, &eth, sizeof(eth)))
		return -1;
	if (eth.h_proto != bpf_htons(ETH_P_IP))
		return -1;
	hlen = ni_parse_ipv4(ctx, ETH_HLEN, k);
	if (hlen < 0)
		return -1;
	if (k->proto == IPPROTO_UDP && k->dport == bpf_htons(NI_VXLAN_PORT)) {
		/* outer Ethernet + outer IPv4 + UDP (8) + VXLAN header (8) = inner Ethernet */
		off = ETH_HLEN + (__u32)hlen + 8 + 8;
		if (ni_load(ctx, off, &eth, sizeof(eth)) == 0 && eth.h_proto == bpf_htons(ETH_P_IP)) {
			inner = *k;
			if (ni_parse_ipv4(ctx, off + ETH_HLEN, &inner) >= 0) {
				*k = inner;
				k->flags |= NI_FLAG_ENCAP;
			}
		}
	}
	return 0;
}

static __always_inline void ni_record(const struct ni_flow_key *k, __u32 mark)
{
	struct ni_flow_value *v, init;

	v = bpf_map_lookup_elem(&nilab_flows, k);
	if (!v) {
		init.packets = 1;
		init.first_mark = mark;
		init.last_mark = mark;
		if (bpf_map_update_elem(&nilab_flows, k, &init, BPF_NOEXIST) == 0)
			return;
		/* Another CPU created it first. */
		v = bpf_map_lookup_elem(&nilab_flows, k);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->packets, 1);
	v->last_mark = mark;
}

/* Record the packet under hook on the device the program runs on. Returns 0 if it was IPv4. */
static __always_inline int ni_observe(NI_CTX *ctx, __u8 hook, struct ni_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (ni_flow_of(ctx, k))
		return -1;
	k->node = NI_NODE;
	k->hook = hook;
	k->ifindex = ni_ctx_ifindex(ctx);
	ni_record(k, ni_ctx_mark(ctx));
	return 0;
}

#ifndef NI_XDP
/* The mark policy of this build: nothing unless NI_MARK_OR is defined (a full 32-bit read-modify-write). */
static __always_inline void ni_apply_mark(struct __sk_buff *skb)
{
#ifdef NI_MARK_OR
	__u32 mark = skb->mark;

	mark |= (__u32)(NI_MARK_OR);
	skb->mark = mark;
#else
	(void)skb;
#endif
}

/* A tc hook that records and passes. */
static __always_inline int ni_tc_pass(struct __sk_buff *skb, __u8 hook)
{
	struct ni_flow_key k;

	ni_observe(skb, hook, &k);
	ni_apply_mark(skb);
	return TC_ACT_OK;
}
#endif

#endif /* NILAB_H */
