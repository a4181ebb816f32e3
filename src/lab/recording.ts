/**
 * The layout of the lab's flow recordings map nilab_flows, which `lab up` creates (plan.ts): every lab BPF program
 * counts the packets it sees there. The sizes mirror lab/bpf/nilab.h (struct ni_flow_key / ni_flow_value): change
 * both together. The tests read and decode the records (test/support/flow-records.ts).
 */

/** struct ni_flow_key: u8 node, u8 hook, u8 proto, u8 flags, u32 ifindex (host order), be32 saddr, be32 daddr, be16 sport, be16 dport. */
export const FLOW_KEY_SIZE = 20
/** struct ni_flow_value: u64 packets, u32 first_mark, u32 last_mark (host order). */
export const FLOW_VALUE_SIZE = 16
