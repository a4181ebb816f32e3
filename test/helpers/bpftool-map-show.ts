/** `bpftool -j map show` as bpftool 7.1 printed it on this kernel (names cut to 15 characters by the kernel, one pinned). */
export const MAP_SHOW_7_1 = JSON.stringify([
    {id: 98, type: 'array', name: 'nit_vals', flags: 0, bytes_key: 4, bytes_value: 168, max_entries: 1, bytes_memlock: 480, frozen: 0, btf_id: 1323},
    {id: 102, type: 'lpm_trie', name: 'cilium_ipcache', flags: 1, bytes_key: 24, bytes_value: 12, max_entries: 512000, bytes_memlock: 0, frozen: 0},
    {id: 103, type: 'prog_array', name: 'cilium_call_pol', flags: 0, bytes_key: 4, bytes_value: 4, max_entries: 65535, bytes_memlock: 524592, owner_prog_type: 'sched_cls', owner_jited: true, frozen: 0},
    {id: 104, type: 'lpm_trie', name: 'cilium_ipcache_', flags: 1, bytes_key: 24, bytes_value: 24, max_entries: 100, bytes_memlock: 0, frozen: 0, pinned: ['/run/x/v2']},
    {id: 141, type: 'hash', name: 'cilium_tunnel_m', flags: 1, bytes_key: 20, bytes_value: 20, max_entries: 65536, bytes_memlock: 1049576, frozen: 0},
])
