// The lab's pure parts: topology data, generated command batches, flow-record decoding. No privileges.
import {describe, expect, it} from 'vitest'
import {bpfObjectPlan} from '../../src/lab/bpf-objects.js'
import {describeLabFailure, splitJsonValues} from '../../src/lab/exec.js'
import {FLOW_KEY_SIZE, FLOW_VALUE_SIZE} from '../../src/lab/recording.js'
import {isLabNetns, labTopology, resolvePrefix, validatePrefix} from '../../src/lab/topology.js'
import {planBatches} from './plan-batches.js'
import {labPlan} from '../../src/lab/plan.js'
import {decodeFlowEntry, devnameOf, matchFlow, parseFlowMapDump} from '../support/flow-records.js'

describe('lab topology (docs/scenario.md values)', () => {
  const t = labTopology('nilab')

  it('names the namespaces after the prefix', () => {
    expect(t.namespaces).toEqual(['nilab-node1', 'nilab-node2', 'nilab-n1-curl', 'nilab-n1-nginx', 'nilab-n2-httpbin', 'nilab-n2-redis', 'nilab-ext'])
    expect(t.stateDir).toBe('/run/nodeinspect-lab/nilab')
    expect(t.bpffs).toBe('/run/nodeinspect-lab/nilab/bpffs')
    expect(t.flowMapPin).toBe('/run/nodeinspect-lab/nilab/bpffs/tc/globals/nilab_flows')
  })

  it('has the scenario addresses, ifindexes and MACs', () => {
    const [n1, n2] = t.nodes
    expect([n1!.underlayIp, n2!.underlayIp, n1!.routerIp, n2!.routerIp]).toEqual(['192.168.1.12', '192.168.1.13', '10.42.1.247', '10.42.0.247'])
    // node 1 also has eth1, its link to the external namespace.
    expect(Object.values(n1!.devices).map((d) => `${d.name}:${d.ifindex}`)).toEqual(['eth0:2', 'cilium_net:3', 'cilium_host:4', 'cilium_vxlan:5', 'eth1:6'])
    expect(Object.values(n2!.devices).map((d) => `${d.name}:${d.ifindex}`)).toEqual(['eth0:2', 'cilium_net:3', 'cilium_host:4', 'cilium_vxlan:5'])
    const curl = t.pods.find((p) => p.name === 'curl')!
    expect(curl).toMatchObject({ip: '10.42.1.80', gateway: '10.42.1.247', eth0: {ifindex: 42, mac: 'f6:00:50:f9:92:a1'}, lxc: {name: 'lxc48c4aa0637ce', ifindex: 43, mac: 'ae:36:76:3e:c3:03'}})
    const httpbin = t.pods.find((p) => p.name === 'httpbin')!
    expect(httpbin).toMatchObject({ip: '10.42.0.51', eth0: {ifindex: 28, mac: '96:86:44:a6:37:ec'}, lxc: {name: 'lxc65015af813d1', ifindex: 29, mac: 'd2:ad:65:4d:d0:7b'}, listener: {port: 80}})
  })

  it('attaches like the scenario: node 2 lxc has only ingress, XDP and a foreign tcx program on node 2 eth0', () => {
    const lines = t.attachments.map((a) => `${a.node} ${a.devname}(${a.ifindex}) ${a.kind} ${a.tcName ?? a.function}`)
    expect(lines).toEqual([
      'node1 eth0(2) clsact/ingress bpf_netdev_eth0.o:[from-netdev]',
      'node1 eth0(2) clsact/egress bpf_netdev_eth0.o:[to-netdev]',
      'node1 eth1(6) clsact/ingress bpf_netdev_eth1.o:[from-netdev]',
      'node1 eth1(6) clsact/egress bpf_netdev_eth1.o:[to-netdev]',
      'node1 cilium_vxlan(5) clsact/ingress bpf_overlay.o:[from-overlay]',
      'node1 cilium_vxlan(5) clsact/egress bpf_overlay.o:[to-overlay]',
      'node1 lxc48c4aa0637ce(43) clsact/ingress bpf_lxc.o:[from-container]',
      'node1 lxc9a1f2e8b40c7(45) tcx/ingress cil_from_container',
      'node2 eth0(2) xdp bpf_xdp_entry',
      'node2 eth0(2) tcx/ingress foreign_ingress',
      'node2 eth0(2) clsact/ingress bpf_netdev_eth0.o:[from-netdev]',
      'node2 eth0(2) clsact/egress bpf_netdev_eth0.o:[to-netdev]',
      'node2 cilium_vxlan(5) clsact/ingress bpf_overlay.o:[from-overlay]',
      'node2 cilium_vxlan(5) clsact/egress bpf_overlay.o:[to-overlay]',
      'node2 lxc65015af813d1(29) clsact/ingress bpf_lxc.o:[from-container]',
      'node2 lxc3e7d0c5f19ab(31) tcx/ingress cil_from_container',
    ])
    expect(t.attachments.filter((a) => a.devname === 'lxc65015af813d1' && a.kind.endsWith('egress'))).toEqual([])
    // SCENARIO: httpbin is endpoint 2826; delivery is a tail call through node 2's cilium_call_policy.
    expect(t.tailCalls.map((c) => `${c.node} ${c.map}[${c.slot}] -> ${c.devname}(${c.ifindex})`)).toContain('node2 cilium_call_policy[2826] -> lxc65015af813d1(29)')
  })

  it("holds each node's Cilium map contents: the scenario's entries, local pods without tunnel, remote ones via the other node", () => {
    const [c1, c2] = t.cilium
    const row = (e: {prefix: string; identity: number; encryptKey: number; tunnelEndpoint: string}) => `${e.prefix} identity=${e.identity} encryptkey=${e.encryptKey} tunnelendpoint=${e.tunnelEndpoint}`
    expect(c1!.ipcache.map(row)).toEqual([
      '10.42.1.80/32 identity=22018 encryptkey=0 tunnelendpoint=0.0.0.0',
      '10.42.1.81/32 identity=41620 encryptkey=0 tunnelendpoint=0.0.0.0',
      '10.42.0.51/32 identity=15773 encryptkey=0 tunnelendpoint=192.168.1.13',
      '10.42.0.52/32 identity=53357 encryptkey=0 tunnelendpoint=192.168.1.13',
      '10.42.0.0/24 identity=2 encryptkey=0 tunnelendpoint=192.168.1.13',
      '10.42.1.247/32 identity=1 encryptkey=0 tunnelendpoint=0.0.0.0',
      '10.42.0.247/32 identity=6 encryptkey=0 tunnelendpoint=192.168.1.13',
      '192.168.1.12/32 identity=1 encryptkey=0 tunnelendpoint=0.0.0.0',
      '192.168.1.13/32 identity=6 encryptkey=0 tunnelendpoint=0.0.0.0',
      '0.0.0.0/0 identity=2 encryptkey=0 tunnelendpoint=0.0.0.0',
    ])
    const ep = (e: {ip: string; endpointId: number; flags: number; ifindex: number; mac: string; nodeMac: string}) => `${e.ip}:0 id=${e.endpointId} flags=${e.flags} ifindex=${e.ifindex} mac=${e.mac} nodemac=${e.nodeMac}`
    expect(c2!.endpoints.map(ep)).toEqual([
      '10.42.0.51:0 id=2826 flags=0 ifindex=29 mac=96:86:44:a6:37:ec nodemac=d2:ad:65:4d:d0:7b',
      '10.42.0.52:0 id=1431 flags=0 ifindex=31 mac=0a:4e:02:00:00:1e nodemac=0a:4e:02:00:00:1f',
      '10.42.0.247:0 id=0 flags=1 ifindex=0 mac=00:00:00:00:00:00 nodemac=00:00:00:00:00:00',
      '192.168.1.13:0 id=0 flags=1 ifindex=0 mac=00:00:00:00:00:00 nodemac=00:00:00:00:00:00',
    ])
    expect(c2!.tunnels).toEqual([{ip: '10.42.1.0', tunnelEndpoint: '192.168.1.12', encryptKey: 0}])
    expect(c1!.maps.map((m) => `${m.name} ${m.pin}`)).toEqual([
      'cilium_ipcache /run/nodeinspect-lab/nilab/bpffs/node1/tc/globals/cilium_ipcache',
      'cilium_lxc /run/nodeinspect-lab/nilab/bpffs/node1/tc/globals/cilium_lxc',
      'cilium_tunnel_map /run/nodeinspect-lab/nilab/bpffs/node1/tc/globals/cilium_tunnel_map',
      'cilium_call_policy /run/nodeinspect-lab/nilab/bpffs/node1/tc/globals/cilium_call_policy',
    ])
  })

  it('resolves device names by node and ifindex', () => {
    expect(devnameOf(t, 1, 43)).toBe('lxc48c4aa0637ce')
    expect(devnameOf(t, 'node2', 5)).toBe('cilium_vxlan')
    expect(devnameOf(t, 2, 43)).toBeUndefined()
  })

  it('validates prefixes and only claims its own namespace names', () => {
    for (const ok of ['nilab', 'nilab-t123', 'a', 'x1-y2']) expect(validatePrefix(ok)).toBe(ok)
    for (const bad of ['', 'NiLab', '1lab', 'lab-', 'a b', 'a/b', 'x'.repeat(21), 'ni_lab']) expect(() => validatePrefix(bad)).toThrow(/invalid lab prefix/)
    expect(isLabNetns('nilab', 'nilab-node1')).toBe(true)
    expect(isLabNetns('nilab', 'nilab-n2-httpbin')).toBe(true)
    expect(isLabNetns('nilab', 'nilab-ext')).toBe(true)
    expect(isLabNetns('nilab', 'nilab-t123-ext')).toBe(false)
    // Another lab whose prefix starts with ours is not ours.
    expect(isLabNetns('nilab', 'nilab-t123-node1')).toBe(false)
    expect(isLabNetns('nilab', 'nilab-t1-n1-curl')).toBe(false)
    expect(isLabNetns('nilab', 'nilabx-node1')).toBe(false)
    expect(isLabNetns('nilab', 'ni-t1-native')).toBe(false)
  })

  it('takes the prefix from the flag, then NODEINSPECT_LAB_PREFIX, then nilab', () => {
    const saved = process.env.NODEINSPECT_LAB_PREFIX
    try {
      delete process.env.NODEINSPECT_LAB_PREFIX
      expect(resolvePrefix()).toBe('nilab')
      process.env.NODEINSPECT_LAB_PREFIX = 'envlab'
      expect(resolvePrefix()).toBe('envlab')
      expect(resolvePrefix('flaglab')).toBe('flaglab')
      process.env.NODEINSPECT_LAB_PREFIX = 'Bad!'
      expect(() => resolvePrefix()).toThrow(/invalid lab prefix "Bad!"/)
    } finally {
      if (saved === undefined) delete process.env.NODEINSPECT_LAB_PREFIX
      else process.env.NODEINSPECT_LAB_PREFIX = saved
    }
  })
})

describe('generated batches', () => {
  const t = labTopology('nilab-t1')
  const batches = planBatches(t)

  it('node 1 creates the underlay first (ifindex 2 on both ends), pods with pinned indexes, VXLAN routing', () => {
    const b = batches.nodeIp('node1')
    expect(b[0]).toBe('link add eth0 index 2 address 52:54:00:a8:01:0c type veth peer name eth0 index 2 address 52:54:00:a8:01:0d netns nilab-t1-node2')
    expect(b).toContain('link add cilium_vxlan index 5 address 0a:4e:01:00:00:05 type vxlan id 2 dstport 8472 local 192.168.1.12 dev eth0 nolearning')
    expect(b).toContain('link add lxc48c4aa0637ce index 43 address ae:36:76:3e:c3:03 type veth peer name eth0 index 42 address f6:00:50:f9:92:a1 netns nilab-t1-n1-curl')
    expect(b).toContain('route add 10.42.1.80/32 dev lxc48c4aa0637ce scope link')
    expect(b).toContain('neigh add 10.42.0.247 lladdr 0a:4e:02:00:00:05 dev cilium_vxlan nud permanent')
    expect(b.at(-1)).toBe('route add 10.42.0.0/24 via 10.42.0.247 dev cilium_vxlan onlink')
    expect(batches.nodeIp('node2').some((l) => l.startsWith('link add eth0'))).toBe(false)
  })

  it('pods get a /32, a link route to the router and a default route', () => {
    expect(batches.podIp('curl')).toEqual(['link set dev lo up', 'link set dev eth0 up', 'addr add 10.42.1.80/32 dev eth0', 'route add 10.42.1.247/32 dev eth0 scope link', 'route add default via 10.42.1.247 dev eth0'])
  })

  it('tc filters are Cilium-style legacy clsact filters from per-node objects', () => {
    const b = batches.tc('node2')
    expect(b.filter((l) => l.startsWith('qdisc'))).toEqual(['qdisc add dev eth0 clsact', 'qdisc add dev cilium_vxlan clsact', 'qdisc add dev lxc65015af813d1 clsact'])
    expect(b).toContain('filter add dev lxc65015af813d1 ingress pref 1 handle 1 bpf direct-action obj /run/nodeinspect-lab/nilab-t1/obj/node2/bpf_lxc.o sec from-container')
    expect(b.some((l) => l.includes('lxc3e7d0c5f19ab'))).toBe(false)
  })

  it('bpftool loads the tcx and tail-call programs with the shared map and fills each node\'s cilium_call_policy', () => {
    const b = batches.bpftool()
    expect(b.filter((l) => l.startsWith('prog load'))).toHaveLength(3 + 4)
    expect(b.every((l) => !l.startsWith('prog load') || l.endsWith('map name nilab_flows pinned /run/nodeinspect-lab/nilab-t1/bpffs/tc/globals/nilab_flows'))).toBe(true)
    // The tcx from-container of node 1 uses node 1's ipcache and tunnel map, and its cilium_lxc and
    // cilium_call_policy for local delivery.
    const g = '/run/nodeinspect-lab/nilab-t1/bpffs/node1/tc/globals'
    expect(b.find((l) => l.includes('node1-lxc9a1f2e8b40c7-cil_from_container'))).toContain(
      `map name cilium_ipcache pinned ${g}/cilium_ipcache map name cilium_tunnel_map pinned ${g}/cilium_tunnel_map map name cilium_lxc pinned ${g}/cilium_lxc map name cilium_call_policy pinned ${g}/cilium_call_policy map name nilab_flows`,
    )
    // httpbin: endpoint 2826 = 0x0b0a -> its to-container program, in node 2's map.
    expect(b).toContain('map update pinned /run/nodeinspect-lab/nilab-t1/bpffs/node2/tc/globals/cilium_call_policy key hex 0a 0b 00 00 value pinned /run/nodeinspect-lab/nilab-t1/bpffs/lab/progs/node2-httpbin-handle_policy')
  })

  it('creates nilab_flows once (pinned for both nodes) and each node\'s Cilium maps without BTF, filled in 1.12 layouts', () => {
    const b = batches.maps()
    expect(b.slice(0, 3)).toEqual([
      'map create /run/nodeinspect-lab/nilab-t1/bpffs/tc/globals/nilab_flows type hash key 20 value 16 entries 8192 name nilab_flows',
      'map pin pinned /run/nodeinspect-lab/nilab-t1/bpffs/tc/globals/nilab_flows /run/nodeinspect-lab/nilab-t1/bpffs/node1/tc/globals/nilab_flows',
      'map pin pinned /run/nodeinspect-lab/nilab-t1/bpffs/tc/globals/nilab_flows /run/nodeinspect-lab/nilab-t1/bpffs/node2/tc/globals/nilab_flows',
    ])
    expect(b).toContain('map create /run/nodeinspect-lab/nilab-t1/bpffs/node1/tc/globals/cilium_ipcache type lpm_trie key 24 value 12 entries 512000 name cilium_ipcache flags 1')
    expect(b).toContain('map create /run/nodeinspect-lab/nilab-t1/bpffs/node2/tc/globals/cilium_call_policy type prog_array key 4 value 4 entries 65535 name cilium_call_policy flags 0')
    // SCENARIO node 1: 10.42.0.51/32 identity=15773 encryptkey=0 tunnelendpoint=192.168.1.13
    expect(b).toContain(
      'map update pinned /run/nodeinspect-lab/nilab-t1/bpffs/node1/tc/globals/cilium_ipcache key hex 40 00 00 00 00 00 00 01 0a 2a 00 33 00 00 00 00 00 00 00 00 00 00 00 00 value hex 9d 3d 00 00 c0 a8 01 0d 00 00 00 00',
    )
    // SCENARIO node 2: 10.42.0.51:0 id=2826 flags=0x0000 ifindex=29 mac=96:86:44:A6:37:EC nodemac=D2:AD:65:4D:D0:7B
    expect(b).toContain(
      'map update pinned /run/nodeinspect-lab/nilab-t1/bpffs/node2/tc/globals/cilium_lxc key hex 0a 2a 00 33 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 value hex 1d 00 00 00 00 00 0a 0b 00 00 00 00 00 00 00 00 96 86 44 a6 37 ec 00 00 d2 ad 65 4d d0 7b 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
    )
    expect(b).toContain('map update pinned /run/nodeinspect-lab/nilab-t1/bpffs/node1/tc/globals/cilium_tunnel_map key hex 0a 2a 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 value hex c0 a8 01 0d 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00')
    expect(batches.bpffsDirs()).toEqual([
      '/run/nodeinspect-lab/nilab-t1/bpffs/lab/progs',
      '/run/nodeinspect-lab/nilab-t1/bpffs/lab/links',
      '/run/nodeinspect-lab/nilab-t1/bpffs/tc/globals',
      '/run/nodeinspect-lab/nilab-t1/bpffs/node1/tc/globals',
      '/run/nodeinspect-lab/nilab-t1/bpffs/node2/tc/globals',
    ])
  })

  it('compiles one object set per node, with the node id (one bpf_netdev object per native device)', () => {
    const plan = bpfObjectPlan(t)
    expect(plan.filter((p) => p.node === 'node1').map((p) => p.object)).toEqual(['bpf_lxc.o', 'bpf_lxc_tcx.o', 'bpf_overlay.o', 'bpf_netdev_eth0.o', 'bpf_netdev_eth1.o', 'bpf_to_container.o'])
    expect(plan.filter((p) => p.object.startsWith('bpf_netdev_')).map((p) => `${p.node} ${p.object} ${p.source} ${p.defines.join(' ')}`)).toEqual([
      'node1 bpf_netdev_eth0.o bpf_netdev.c -DNI_NODE=1',
      'node1 bpf_netdev_eth1.o bpf_netdev.c -DNI_NODE=1',
      'node2 bpf_netdev_eth0.o bpf_netdev.c -DNI_NODE=2',
    ])
    expect(plan.find((p) => p.node === 'node2' && p.object === 'bpf_xdp.o')!.defines).toEqual(['-DNI_NODE=2', '-DNI_XDP'])
  })

  it('per-object defines reach only that object (the collide variant ORs 0x800 in node 1 bpf_lxc.o only)', () => {
    const plan = bpfObjectPlan(t, [], [{node: 'node1', object: 'bpf_lxc.o', defines: ['-DNI_MARK_OR=0x800']}])
    expect(plan.filter((p) => p.defines.includes('-DNI_MARK_OR=0x800')).map((p) => `${p.node} ${p.object}`)).toEqual(['node1 bpf_lxc.o'])
  })
})

describe('the plan lab up carries out', () => {
  const t = labTopology('nilab-t1')
  const base = labPlan(t)

  it('creates every namespace in one batch, then sets sysctls in each (forwarding only in nodes)', () => {
    expect(base.namespaces).toEqual({step: 'namespaces', argv: ['ip', '-batch', '-'], input: t.namespaces.map((n) => `netns add ${n}\n`).join('')})
    expect(base.sysctls.map((c) => `${c.netns} ${c.argv.includes('net.ipv4.ip_forward=1')}`)).toEqual(t.namespaces.map((n) => `${n} ${n.endsWith('node1') || n.endsWith('node2')}`))
  })

  it('builds each node\'s links before its VXLAN fdb entry, and writes rules only on node 1 (ip rules only in the collide variant)', () => {
    expect(base.links.map((l) => `${l.node}: ${l.commands.map((c) => c.step).join(', ')}`)).toEqual(['node1: links (node1), vxlan fdb (node1)', 'node2: links (node2), vxlan fdb (node2)'])
    expect(base.links[0]!.commands[1]!.argv).toEqual(['bridge', '-n', 'nilab-t1-node1', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'cilium_vxlan', 'dst', '192.168.1.13'])
    expect(base.rules.map((cs) => cs.map((c) => c.step))).toEqual([['iptables (node1)'], []])
    const collide = labPlan(t, {collide: true})
    expect(collide.rules.map((cs) => cs.map((c) => c.step))).toEqual([['iptables (node1)', 'ip rules (node1)'], []])
    expect(collide.objects.find((o) => o.node === 'node1' && o.object === 'bpf_lxc.o')!.defines).toContain('-DNI_MARK_OR=0x800')
    expect(base.objects.some((o) => o.defines.includes('-DNI_MARK_OR=0x800'))).toBe(false)
  })

  it('attaches tc per node with the node\'s TC_BPF_MNT, XDP on node 2, and tcx through the helper with pinned links', () => {
    expect(base.tc.map((x) => `${x.node} ${x.command.netns} ${x.command.env!.TC_BPF_MNT}`)).toEqual(['node1 nilab-t1-node1 /run/nodeinspect-lab/nilab-t1/bpffs/node1', 'node2 nilab-t1-node2 /run/nodeinspect-lab/nilab-t1/bpffs/node2'])
    expect(base.xdp.map((x) => x.command.argv.join(' '))).toEqual(['ip link set dev eth0 xdpdrv obj /run/nodeinspect-lab/nilab-t1/obj/node2/bpf_xdp.o sec from-netdev'])
    expect(base.tcx.map((x) => x.helperArgs.join(' '))).toContain(
      'tcx-attach --prog-pin /run/nodeinspect-lab/nilab-t1/bpffs/lab/progs/node1-lxc9a1f2e8b40c7-cil_from_container --dev lxc9a1f2e8b40c7 --dir ingress --link-pin /run/nodeinspect-lab/nilab-t1/bpffs/lab/links/node1-lxc9a1f2e8b40c7-tcx-ingress --first',
    )
  })

  it('starts the listeners of nginx, httpbin and the external namespace, with their files in the state dir', () => {
    expect(base.listeners.map((l) => `${l.name} ${l.netns} ${l.host}:${l.port} ${l.pidfile}`)).toEqual([
      'nginx nilab-t1-n1-nginx 10.42.1.81:80 /run/nodeinspect-lab/nilab-t1/nginx-httpd.pid',
      'httpbin nilab-t1-n2-httpbin 10.42.0.51:80 /run/nodeinspect-lab/nilab-t1/httpbin-httpd.pid',
      'ext nilab-t1-ext 172.31.0.2:80 /run/nodeinspect-lab/nilab-t1/ext-httpd.pid',
    ])
  })
})

describe('flow records (the layout of lab/bpf/nilab.h)', () => {
  const t = labTopology()
  const key = Buffer.from([2, 7, 6, 1, 2, 0, 0, 0, 10, 42, 1, 80, 10, 42, 0, 51, 0x9c, 0x96, 0, 80])
  const value = Buffer.alloc(16)
  value.writeBigUInt64LE(6n, 0)
  value.writeUInt32LE(0x200, 8)
  value.writeUInt32LE(0x4200, 12)

  it('decodes key and value bytes', () => {
    expect(key.length).toBe(FLOW_KEY_SIZE)
    expect(value.length).toBe(FLOW_VALUE_SIZE)
    expect(decodeFlowEntry(key, value, t)).toEqual({
      nodeId: 2,
      node: 'node2',
      hook: 'xdp',
      ifindex: 2,
      devname: 'eth0',
      saddr: '10.42.1.80',
      daddr: '10.42.0.51',
      sport: 40086,
      dport: 80,
      proto: 'tcp',
      protoNumber: 6,
      packets: 6,
      firstMark: 0x200,
      lastMark: 0x4200,
      encapsulated: true,
    })
    expect(() => decodeFlowEntry(key.subarray(0, 19), value)).toThrow(/19 bytes/)
  })

  it('parses bpftool -j map dump and filters flows in both directions', () => {
    const hex = (b: Buffer) => [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`)
    const rec = parseFlowMapDump(JSON.stringify([{key: hex(key), value: hex(value), formatted: {}}]), t)
    expect(rec).toHaveLength(1)
    expect(matchFlow(rec[0]!, {saddr: '10.42.1.80', dport: 80})).toBe(true)
    expect(matchFlow(rec[0]!, {saddr: '10.42.0.51', sport: 80})).toBe(false)
    expect(matchFlow(rec[0]!, {saddr: '10.42.0.51', sport: 80, bidirectional: true})).toBe(true)
    expect(() => parseFlowMapDump('{"error":"bpf obj get (x): No such file or directory"}')).toThrow(/No such file/)
  })
})

describe('exec helpers', () => {
  it('splits concatenated JSON documents (tc -j -batch)', () => {
    expect(splitJsonValues('[]\n[{"a":"]["}]\nprocessed 2 commands\n{"b":[1]}')).toEqual([[], [{a: ']['}], {b: [1]}])
  })

  it('names the failing batch line', () => {
    const msg = describeLabFailure({argv: ['ip', '-batch', '-'], input: 'link set lo up\nlink add x type dummy\n', stdout: '', stderr: 'Error: Unknown device type.\nCommand failed -:2\n', exitCode: 1, failure: 'exit', message: 'ip -batch -: exit 1: Error: Unknown device type.', durationMs: 1})
    expect(msg).toBe('ip -batch -: exit 1: Error: Unknown device type. (batch line 2: "link add x type dummy")')
  })
})
