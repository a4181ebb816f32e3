// nodeinspect test program: the ctx pointer passed to a bpf-to-bpf function, which writes the mark.
// Expected: a subprogram call; in the callee, a load and the write "or 0x100"; a bit test of 0x4 in main.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int tag_it(struct __sk_buff *skb)
{
	volatile __u32 *mark = &skb->mark;

	*mark = *mark | 0x100;
	return 0;
}

SEC("tc")
int nit_subprog(struct __sk_buff *skb)
{
	if (skb->mark & 0x4)
		return TC_ACT_OK;
	return tag_it(skb);
}

char _license[] SEC("license") = "GPL";
