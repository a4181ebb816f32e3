#!/usr/bin/env node
// Writes node1.json and node2.json, the reference snapshots of ../../docs/scenario.md (Cilium 1.12.3, VXLAN,
// kernel 5.4.0-91), from the facts that walkthrough printed. Every value below says where it comes from (see
// README.md); what the walkthrough did not show is left out, never made up. Run: node testdata/reference/build.mjs
import {writeFileSync} from 'node:fs'

const here = new URL('.', import.meta.url).pathname
const j = (v) => JSON.stringify(v)
const out = (argv, stdout, extra = {}) => ({argv, stdout, stderr: '', exitCode: 0, durationMs: 0, ...extra})

// `ip -j -d addr show`, in iproute2's JSON shape, holding only what the walkthrough shows.
function link(ifindex, ifname, kind, mac, extra = {}) {
  const l = {ifindex, ifname, flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, operstate: 'UP', link_type: 'ether'}
  if (mac) l.address = mac
  if (kind) l.linkinfo = {info_kind: kind, ...(extra.info_data ? {info_data: extra.info_data} : {})}
  delete extra.info_data
  return {...l, ...extra, addr_info: extra.addr_info ?? []}
}
const addr = (local, prefixlen) => ({family: 'inet', local, prefixlen, scope: 'global'})
const lo = {ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, operstate: 'UNKNOWN', link_type: 'loopback', address: '00:00:00:00:00:00', addr_info: [addr('127.0.0.1', 8)]}
const vxlan = (ifindex) => link(ifindex, 'cilium_vxlan', 'vxlan', undefined, {info_data: {external: true, id: 0, port: 8472, learning: false}})

function tcEntry(devname, ifindex, dir, name, id) {
  return {devname, ifindex, kind: `clsact/${dir}`, name, id}
}

// Cilium's maps, as `bpftool -j map show` / `bpftool -j map dump id N` print them. Cilium 1.12 created its maps
// through iproute2's ELF loader (struct bpf_elf_map), so they carry no BTF: bpftool prints raw bytes only, no
// "formatted" objects, and the kernel keeps 15 characters of a name. Layouts (Cilium 1.12 bpf/lib/common.h):
// ipcache key {u32 prefixlen = 32 static bits + prefix; u16 pad1; u8 pad2; u8 family; 16-byte address},
// value {u32 sec_label; be32 tunnel_endpoint; u8 key; 3 bytes padding}; cilium_lxc key endpoint_key {16-byte
// address; u8 family; u8 key; u16 pad5}, value endpoint_info {u32 ifindex; u16 unused; u16 lxc_id; u32 flags;
// 4 bytes hole; u64 mac; u64 node_mac; u32 pad[4]}. Sizes, max_entries and flags come from the same source
// (512000 ipcache entries, 65535 endpoints, BPF_F_NO_PREALLOC). The walkthrough printed no map ids: the ids
// below are placeholders. The only map ids it printed are program 2901's map_ids 572,86 (two maps of node 1's
// from-container; which is which is unknown, and Cilium's entry programs reach the ipcache through tail calls),
// so neither is claimed here.
const hexBytes = (bytes) => bytes.map((b) => `0x${b.toString(16).padStart(2, '0')}`)
const le32 = (n) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255]
const le16 = (n) => [n & 255, (n >>> 8) & 255]
const v4 = (ip) => ip.split('.').map(Number)
const zeros = (n) => Array(n).fill(0)
const macBytes = (mac) => mac.split(':').map((x) => Number.parseInt(x, 16))
const mapShow = (maps) => out(['bpftool', '-j', 'map', 'show'], j(maps) + '\n')
const mapDump = (id, entries) => out(['bpftool', '-j', 'map', 'dump', 'id', String(id)], j(entries.map(([key, value]) => ({key: hexBytes(key), value: hexBytes(value)}))) + '\n')
/** `cilium map get cilium_ipcache`: `PREFIX/LEN identity=I encryptkey=K tunnelendpoint=T`. */
const ipcacheEntry = (prefix, len, identity, key, tunnel) => [[...le32(32 + len), 0, 0, 0, 1, ...v4(prefix), ...zeros(12)], [...le32(identity), ...v4(tunnel), key, 0, 0, 0]]
/** `cilium map get cilium_lxc`: `IP:KEY id=ID flags=F ifindex=N mac=M nodemac=NM`. */
const lxcEntry = (ip, key, id, flags, ifindex, mac, nodeMac) => [
  [...v4(ip), ...zeros(12), 1, key, 0, 0],
  [...le32(ifindex), 0, 0, ...le16(id), ...le32(flags), ...zeros(4), ...macBytes(mac), 0, 0, ...macBytes(nodeMac), 0, 0, ...zeros(16)],
]

function node({hostname, underlay, routerIp, lxc, nets, tc, progs, maps = [], pod}) {
  const devices = [
    lo,
    link(2, 'eth0', undefined, undefined, {addr_info: [addr(underlay, 24)]}),
    link(3, 'cilium_net', 'veth', undefined, {link: 'cilium_host'}),
    link(4, 'cilium_host', 'veth', undefined, {link: 'cilium_net', addr_info: [addr(routerIp, 32)]}),
    vxlan(5),
    link(25, 'lxc_health', 'veth', undefined, {link_netnsid: 1}),
    link(lxc.ifindex, lxc.name, 'veth', lxc.mac, {link_index: lxc.peerIfindex, link_netnsid: 0}),
  ]
  const names = devices.map((d) => d.ifname)
  const script = names.map((n) => `filter show dev ${n} ingress\nfilter show dev ${n} egress\n`).join('')
  const tcAnswers = names.flatMap((n) => ['ingress', 'egress'].map((dir) => j(tc[`${n} ${dir}`] ?? []))).join('\n') + '\n'
  const outputs = [
    out(['ip', '-j', '-d', 'addr', 'show'], j(devices) + '\n'),
    out(['bpftool', '-j', 'net', 'show'], j([{xdp: [], tc: nets, flow_dissector: []}]) + '\n'),
    out(['bpftool', '-j', 'prog', 'show'], j(progs) + '\n'),
    out(['bpftool', '-j', 'link', 'show'], '[]\n'),
    // Kernel 5.4 predates tcx (6.6) and netkit (6.7): BPF_PROG_QUERY for them fails with EINVAL on every device.
    out(['nodeinspect-bpf', 'query'], j({helper: 'nodeinspect-bpf', version: 1, queried: devices.length, tcx_supported: false, netkit_supported: false, attachments: [], errors: []}) + '\n'),
    out(['ip', '-j', 'netns', 'list-id'], j(lxc.netns ? [{nsid: 0, name: lxc.netns}] : []) + '\n'),
    out(['tc', '-j', '-force', '-batch', '-'], tcAnswers, {input: script}),
  ]
  if (pod) {
    // The pod as seen from inside its netns (SCENARIO.md: "its eth0 is ifindex 42 (eth0@if43), MAC f6:00:50:f9:92:a1",
    // and its `ip route get 10.42.0.51` printed "10.42.0.51 via 10.42.1.247 dev eth0 src 10.42.1.80"). The /32 prefix
    // is Cilium's usual pod address (assumed: the walkthrough printed the address only).
    const podLinks = [
      {...lo, addr_info: [addr('127.0.0.1', 8)]},
      link(pod.ifindex, 'eth0', undefined, pod.mac, {link_index: lxc.ifindex, link_netnsid: 0, addr_info: [addr(pod.ip, 32)]}),
    ]
    outputs.push(out(['ip', '-all', 'netns', 'exec', 'ip', '-j', 'addr', 'show'], `\nnetns: ${lxc.netns}\n${j(podLinks)}\n`))
    outputs.push(out(['ip', '-n', lxc.netns, '-j', 'route', 'get', pod.routeGet.dst], j([{dst: pod.routeGet.dst, gateway: pod.routeGet.via, dev: 'eth0', prefsrc: pod.ip, flags: [], uid: 0, cache: []}]) + '\n'))
  }
  if (maps.length > 0) {
    outputs.push(mapShow(maps.map((m) => m.show)))
    for (const m of maps) outputs.push(mapDump(m.show.id, m.entries))
  }
  return {
    format: 'nodeinspect-snapshot',
    version: 1,
    meta: {
      hostname,
      kernel: '5.4.0-91-generic',
      nodeinspectVersion: 'reference (written from SCENARIO.md)',
      note: 'reference snapshot written from the SCENARIO.md walkthrough: bpftool net/tc output was captured only for eth0, cilium_vxlan and the flow\'s lxc device, and bpftool prog only for the programs it printed; routes, neighbours and netfilter rules were not captured',
    },
    outputs,
  }
}

const node1 = node({
  hostname: 'ubuntu-dev2',
  underlay: '192.168.1.12',
  routerIp: '10.42.1.247',
  lxc: {name: 'lxc48c4aa0637ce', ifindex: 43, peerIfindex: 42, mac: 'ae:36:76:3e:c3:03', netns: 'cni-407cd7d8-7c02-cfa7-bf93-22946f923ffd'},
  pod: {ip: '10.42.1.80', ifindex: 42, mac: 'f6:00:50:f9:92:a1', routeGet: {dst: '10.42.0.51', via: '10.42.1.247'}},
  nets: [
    tcEntry('lxc48c4aa0637ce', 43, 'ingress', 'bpf_lxc.o:[from-container]', 2901),
    tcEntry('cilium_vxlan', 5, 'ingress', 'bpf_overlay.o:[from-overlay]', 2699),
    tcEntry('cilium_vxlan', 5, 'egress', 'bpf_overlay.o:[to-overlay]', 2707),
    tcEntry('eth0', 2, 'ingress', 'bpf_netdev_eth0.o:[from-netdev]', 2823),
    tcEntry('eth0', 2, 'egress', 'bpf_netdev_eth0.o:[to-netdev]', 2832),
  ],
  // `tc filter show dev lxc48c4aa0637ce ingress`: filter protocol all pref 1 bpf chain 0 handle 0x1
  // bpf_lxc.o:[from-container] direct-action not_in_hw id 2901 tag d578585f7e71464b jited
  tc: {
    'lxc48c4aa0637ce ingress': [
      {protocol: 'all', pref: 1, kind: 'bpf', chain: 0},
      {protocol: 'all', pref: 1, kind: 'bpf', chain: 0, options: {handle: '0x1', bpf_name: 'bpf_lxc.o:[from-container]', 'direct-action': true, not_in_hw: true, prog: {id: 2901, tag: 'd578585f7e71464b', jited: 1}}},
    ],
  },
  // `bpftool prog show id 2901`: 2901: sched_cls name handle_xgress tag d578585f7e71464b gpl / loaded_at
  // 2023-01-09T19:29:52+0000 uid 0 / xlated 688B jited 589B memlock 4096B map_ids 572,86 / btf_id 301
  progs: [
    {id: 2901, type: 'sched_cls', name: 'handle_xgress', tag: 'd578585f7e71464b', gpl_compatible: true, loaded_at: 1673292592, uid: 0, bytes_xlated: 688, jited: true, bytes_jited: 589, bytes_memlock: 4096, map_ids: [572, 86], btf_id: 301},
  ],
  // `cilium map get cilium_ipcache`: 10.42.0.51/32 identity=15773 encryptkey=0 tunnelendpoint=192.168.1.13 sync.
  // Only this entry was printed; map id 41 is a placeholder.
  maps: [
    {
      show: {id: 41, type: 'lpm_trie', name: 'cilium_ipcache', flags: 1, bytes_key: 24, bytes_value: 12, max_entries: 512000},
      entries: [ipcacheEntry('10.42.0.51', 32, 15773, 0, '192.168.1.13')],
    },
  ],
})

const node2 = node({
  hostname: 'ubuntu-dev3',
  underlay: '192.168.1.13',
  routerIp: '10.42.0.247',
  lxc: {name: 'lxc65015af813d1', ifindex: 29, peerIfindex: 28, mac: 'd2:ad:65:4d:d0:7b'},
  nets: [
    tcEntry('eth0', 2, 'ingress', 'bpf_netdev_eth0.o:[from-netdev]', 4556),
    tcEntry('eth0', 2, 'egress', 'bpf_netdev_eth0.o:[to-netdev]', 4565),
    tcEntry('cilium_vxlan', 5, 'ingress', 'bpf_overlay.o:[from-overlay]', 4468),
    tcEntry('cilium_vxlan', 5, 'egress', 'bpf_overlay.o:[to-overlay]', 4476),
    // Note: no egress program on lxc65015af813d1: delivery is a tail call from from-overlay (SCENARIO.md).
    tcEntry('lxc65015af813d1', 29, 'ingress', 'bpf_lxc.o:[from-container]', 4670),
  ],
  tc: {},
  progs: [],
  // `cilium map get cilium_lxc`: 10.42.0.51:0 id=2826 flags=0x0000 ifindex=29 mac=96:86:44:A6:37:EC
  // nodemac=D2:AD:65:4D:D0:7B sync. Only this entry was printed; map id 38 is a placeholder. Delivery goes by tail
  // call into cilium_call_policy[2826], but the walkthrough never showed that program's id: no cilium_call_policy
  // here, so a trace says the tail-call target is unknown rather than inventing one.
  maps: [
    {
      show: {id: 38, type: 'hash', name: 'cilium_lxc', flags: 1, bytes_key: 20, bytes_value: 48, max_entries: 65535},
      entries: [lxcEntry('10.42.0.51', 0, 2826, 0x0000, 29, '96:86:44:a6:37:ec', 'd2:ad:65:4d:d0:7b')],
    },
  ],
})

writeFileSync(`${here}node1.json`, JSON.stringify(node1, null, 1) + '\n')
writeFileSync(`${here}node2.json`, JSON.stringify(node2, null, 1) + '\n')
console.log('wrote node1.json, node2.json')
