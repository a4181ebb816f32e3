// nodeinspect test program: the ctx pointer survives a helper call in a callee-saved register, a mark
// store goes through that copy, and the program redirects. Expected: calls bpf_get_hash_recalc and
// bpf_redirect(2, 0); one write "set 0x200" (through r6 after the call); no mark load.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int nit_redirect(struct __sk_buff *skb)
{
	__u32 h = bpf_get_hash_recalc(skb);

	if (h & 1)
		skb->mark = 0x200;
	return bpf_redirect(2, 0);
}

char _license[] SEC("license") = "GPL";
