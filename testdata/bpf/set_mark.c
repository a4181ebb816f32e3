// nodeinspect test program: sets the whole mark. Expected: one write, set 0x1234.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int nit_set_mark(struct __sk_buff *skb)
{
	skb->mark = 0x1234;
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
