// nodeinspect test program: ORs a bit in and compares a masked field.
// Expected: load of the mark, write "or 0x4000", match 0x200/0xf00 (the jump skips when it does not match).
// Compiled twice in the tests: -mcpu=v1 (64-bit r registers) and -mcpu=v3 (32-bit w sub-registers).
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int nit_or_mark(struct __sk_buff *skb)
{
	skb->mark |= 0x4000;
	if ((skb->mark & 0xf00) == 0x200)
		skb->priority = 7;
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
