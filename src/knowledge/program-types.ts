/** Program types whose context is __sk_buff, where skb->mark means something (include/uapi/linux/bpf.h: their ctx is struct __sk_buff). */
export const SKB_PROG_TYPES: ReadonlySet<string> = new Set(['sched_cls', 'sched_act', 'cgroup_skb', 'socket_filter', 'lwt_in', 'lwt_out', 'lwt_xmit', 'sk_skb'])

/** Program types whose code `trace` reads: tc programs (mark and redirects) and XDP (redirects only). */
export const TRACE_CODE_TYPES: ReadonlySet<string> = new Set(['sched_cls', 'sched_act', 'xdp'])
