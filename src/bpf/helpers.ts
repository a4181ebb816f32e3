import type {HelperFamily} from '../model/program-summary.js'

const FAMILY: ReadonlyArray<[HelperFamily, RegExp]> = [
  ['redirect', /^bpf_(redirect|redirect_peer|redirect_neigh|clone_redirect|redirect_map|sk_redirect_map|sk_redirect_hash|msg_redirect_map|msg_redirect_hash)$/],
  ['tail-call', /^bpf_tail_call$/],
  ['tunnel', /^bpf_skb_(set|get)_tunnel_(key|opt)$/],
  ['fib', /^bpf_fib_lookup$/],
  ['map', /^bpf_(map_\w+|for_each_map_elem|ringbuf_\w+)$/],
  ['socket', /^bpf_(sk_assign|sk_lookup_tcp|sk_lookup_udp|skc_lookup_tcp|sk_release|sk_fullsock|tcp_sock|get_listener_sock|get_socket_cookie|skc_to_\w+)$/],
  ['packet', /^bpf_(skb_store_bytes|l3_csum_replace|l4_csum_replace|skb_adjust_room|skb_change_head|skb_change_tail|skb_change_proto|skb_change_type|skb_vlan_push|skb_vlan_pop|skb_pull_data|xdp_adjust_head|xdp_adjust_tail|lwt_push_encap)$/],
]

export function helperFamily(helper: string): HelperFamily {
  for (const [family, re] of FAMILY) if (re.test(helper)) return family
  return 'other'
}
