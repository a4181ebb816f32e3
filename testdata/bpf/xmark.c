// nodeinspect test program: iptables-style set-xmark, an AND-clear, and two stores at the mark's
// offset (+164 on 6.18) that are NOT the mark: into a map value and into a global (.bss) variable.
// Expected: writes "mark = (mark & ~0xff00) | 0x1200" and "mark &= ~0x8000", nothing else.
//
// The stores go through a volatile pointer: otherwise clang narrows `mark = (mark & ~0xff00) | 0x1200`
// into a one-byte store at ctx+9, which the verifier rejects (DEPS.md 4.1: invalid bpf_context access).
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct val {
	__u32 pad[41];
	__u32 fake_mark; /* at byte 164, like sk_buff.mark */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct val);
} nit_vals SEC(".maps");

struct val nit_global;

SEC("tc")
int nit_xmark(struct __sk_buff *skb)
{
	volatile __u32 *mark = &skb->mark;
	__u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&nit_vals, &k);

	if (v)
		v->fake_mark = 0x9999;
	nit_global.fake_mark = 0x7777;
	*mark = (*mark & ~0xff00u) | 0x1200;
	*mark = *mark & ~0x8000u;
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
