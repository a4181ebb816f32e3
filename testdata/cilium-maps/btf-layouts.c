/* Cilium map layouts restated from Cilium's public headers (see testdata/cilium-maps/README.md), so that
 * bpftool can print "formatted" dumps from BTF. Only the types matter; the program just references the maps. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
union v6addr { struct { __u32 p1, p2, p3, p4; }; struct { __u64 d1, d2; }; __u8 addr[16]; } __attribute__((packed));
struct ipcache_key { struct bpf_lpm_trie_key lpm_key; __u16 cluster_id; __u8 pad1; __u8 family;
  union { struct { __u32 ip4; __u32 pad4; __u32 pad5; __u32 pad6; }; union v6addr ip6; }; } __attribute__((packed));
/* cilium_ipcache_v2 value (Cilium >= 1.18) */
struct remote_endpoint_info { __u32 sec_identity;
  union { struct { __u32 ip4; __u32 pad1; __u32 pad2; __u32 pad3; }; union v6addr ip6; } tunnel_endpoint;
  __u16 pad; __u8 key; __u8 flag_skip_tunnel:1, flag_has_tunnel_ep:1, flag_ipv6_tunnel_ep:1, flag_remote_cluster:1, pad2:4; };
/* cilium_ipcache (v1) value as RemoteEndpointInfoV1 reads it */
struct remote_endpoint_info_v1 { __u32 sec_identity; __u32 tunnel_endpoint; __u16 pad; __u8 key;
  __u8 flag_skip_tunnel:1, flag_has_tunnel_ep:1, flag_ipv6_tunnel_ep:1, flag_remote_cluster:1, pad2:4; };
struct endpoint_key { union { struct { __u32 ip4; __u32 pad1; __u32 pad2; __u32 pad3; }; union v6addr ip6; }; __u8 family; __u8 key; __u8 cluster_id; __u8 pad; } __attribute__((packed));
typedef __u64 mac_t;
struct endpoint_info { __u32 ifindex; __u16 unused; __u16 lxc_id; __u32 flags; mac_t mac; mac_t node_mac; __u32 sec_id; __u32 parent_ifindex; __u32 pad[2]; };
struct tunnel_key { union { struct { __u32 ip4; __u32 pad1; __u32 pad2; __u32 pad3; }; union v6addr ip6; }; __u8 family; __u8 cluster_id; __u16 pad; } __attribute__((packed));
struct tunnel_value { union { struct { __u32 ip4; __u32 pad1; __u32 pad2; __u32 pad3; }; union v6addr ip6; }; __u8 family; __u8 key; __u16 node_id; } __attribute__((packed));
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __type(key, struct ipcache_key); __type(value, struct remote_endpoint_info); __uint(max_entries, 64); __uint(map_flags, BPF_F_NO_PREALLOC); } cilium_ipcache_v2 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __type(key, struct ipcache_key); __type(value, struct remote_endpoint_info_v1); __uint(max_entries, 64); __uint(map_flags, BPF_F_NO_PREALLOC); } cilium_ipcache SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct endpoint_key); __type(value, struct endpoint_info); __uint(max_entries, 64); } cilium_lxc SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct tunnel_key); __type(value, struct tunnel_value); __uint(max_entries, 64); } cilium_tunnel_map SEC(".maps");
SEC("tc") int layouts(struct __sk_buff *skb) { struct ipcache_key k = {}; struct endpoint_key e = {}; struct tunnel_key t = {};
  if (bpf_map_lookup_elem(&cilium_ipcache_v2, &k) || bpf_map_lookup_elem(&cilium_ipcache, &k)) return 1;
  if (bpf_map_lookup_elem(&cilium_lxc, &e) || bpf_map_lookup_elem(&cilium_tunnel_map, &t)) return 2; return 0; }
char _license[] SEC("license") = "GPL";
