// nodeinspect test program: a tail call through a program array, unless the mark is 0xd00.
// Expected: a load of the mark, match 0xd00 (jump taken on equality, skipping the tail call),
// bpf_tail_call with the prog array's map id and index 1.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} nit_jmp SEC(".maps");

SEC("tc")
int nit_tail_call(struct __sk_buff *skb)
{
	if (skb->mark != 0xd00)
		bpf_tail_call(skb, &nit_jmp, 1);
	return TC_ACT_SHOT;
}

char _license[] SEC("license") = "GPL";
