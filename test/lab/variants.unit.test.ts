// The CNI variants' plans (issue 9's lab), pure: what each variant builds, that every command stays inside the
// lab's namespaces, and the shapes each CNI writes (flannel's bridge and VXLAN, Calico's proxy-ARP /32 routing,
// kube-proxy's nft table, AWS VPC CNI's policy routing and SNAT, raw NOTRACK, br_netfilter). No privileges.
import {describe, expect, it} from 'vitest'
import {iptablesRestoreInput} from '../../src/lab/netfilter.js'
import {isLabNetns} from '../../src/lab/topology.js'
import {LAB_VARIANT_NAMES, LAB_VARIANTS, labVariant} from '../../src/lab/variants/registry.js'
import {variantUnavailable} from '../../src/lab/variants/up.js'
import type {LabVariantPlan} from '../../src/lab/variants/variant-plan.js'

const prefix = 'nilab-t1v'
const plan = (name: string): LabVariantPlan => labVariant(name)!.plan(prefix)
const commands = (p: LabVariantPlan) => p.phases.flatMap((ph) => ph.commands)
const input = (p: LabVariantPlan, step: string) => commands(p).find((c) => c.step === step)?.input ?? ''

describe('the variant registry', () => {
  it('lists the six CNI variants after the default cilium lab', () => {
    expect(LAB_VARIANT_NAMES).toEqual(['cilium', 'bridge', 'routed', 'iptables-kube-proxy', 'nft-kube-proxy', 'policy-routing', 'notrack', 'br-netfilter'])
    expect(labVariant('cilium')).toBeUndefined()
    expect(variantUnavailable('nope')).toBe('unknown variant "nope" (variants: cilium, bridge, routed, iptables-kube-proxy, nft-kube-proxy, policy-routing, notrack, br-netfilter)')
  })
})

describe.each(LAB_VARIANTS.map((v) => v.name))('variant %s: safety and shape', (name) => {
  const p = plan(name)

  it('names every namespace with the lab prefix, in shapes lab down finds', () => {
    expect(p.namespaces.length).toBeGreaterThanOrEqual(4)
    for (const ns of p.namespaces) expect(isLabNetns(prefix, ns), ns).toBe(true)
    expect(p.variant).toBe(name)
    expect(p.statePath).toBe(`/run/nodeinspect-lab/${prefix}/state.json`)
  })

  it('runs every command inside a lab namespace (never the root netns)', () => {
    const [first, ...rest] = p.phases
    expect(first!.commands).toHaveLength(1)
    expect(first!.commands[0]!.input!.trim().split('\n')).toEqual(p.namespaces.map((n) => `netns add ${n}`))
    for (const c of rest.flatMap((ph) => ph.commands)) {
      const n = c.argv.indexOf('-n')
      const where = c.netns ?? (n >= 0 ? c.argv[n + 1] : undefined)
      expect(where !== undefined && isLabNetns(prefix, where), `${c.step}: ${c.argv.join(' ')}`).toBe(true)
    }
    for (const l of p.listeners) expect(isLabNetns(prefix, l.netns)).toBe(true)
  })

  it('builds node 1 (which makes the underlay pair into node 2) before node 2, and both before the pods', () => {
    expect(p.phases.map((ph) => ph.step)).toEqual(['namespaces', 'sysctls', 'links (node1)', 'links (node2)', 'pods, fdb, rules'])
    expect(input(p, 'links (node1)')).toContain(`link add eth0 type veth peer name eth0 netns ${prefix}-node2\n`)
    expect(input(p, 'links (node2)')).not.toContain('link add eth0 ')
  })

  it('has a cross-node TCP flow from curl on node 1 to a listener on node 2, and a listener for every flow', () => {
    const f = p.flows.find((x) => x.kind === 'pod-to-pod-cross-node')!
    expect(f).toMatchObject({fromPod: 'curl', proto: 'tcp', expect: {connected: true, peer: p.pods.find((x) => x.name === 'curl')!.ip}})
    expect(p.pods.find((x) => x.ip === f.dst)?.node).toBe('node2')
    const listening = p.listeners.map((l) => l.name)
    for (const flow of p.flows) for (const l of flow.expect.listeners ?? []) expect(listening).toContain(l)
  })

  it('writes iptables-restore input that declares every chain it jumps or goes to, and no target as a chain', () => {
    for (const n of p.nodes) {
      const text = iptablesRestoreInput(p.iptables, n.name)
      const declared = [...text.matchAll(/^:(\S+) /gm)].map((m) => m[1]!)
      for (const m of text.matchAll(/ -[jg] ([A-Za-z][\w.-]*)/g)) {
        if (!['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'MARK', 'DNAT', 'SNAT', 'MASQUERADE', 'NOTRACK'].includes(m[1]!)) expect(declared, `${n.name}: ${m[1]}`).toContain(m[1])
      }
      for (const t of ['NOTRACK', 'REJECT']) expect(declared).not.toContain(t)
    }
  })
})

describe('variant bridge (flannel-style)', () => {
  const p = plan('bridge')
  it('has cni0 with the gateway address per node, veth pods on it, flannel.1 with VNI 1 on UDP 8472', () => {
    expect(p.expect.devices.filter((d) => d.kind === 'bridge').map((d) => `${d.netns} ${d.name} ${d.addresses}`)).toEqual([`${prefix}-node1 cni0 10.244.1.1/24`, `${prefix}-node2 cni0 10.244.2.1/24`])
    expect(p.expect.devices.filter((d) => d.master === 'cni0').map((d) => d.name)).toEqual(['veth3a1f5c2e', 'veth8c2e4a6b'])
    expect(input(p, 'links (node1)')).toContain('link add flannel.1 address 0a:58:0a:f4:01:00 type vxlan id 1 dstport 8472 local 192.168.1.12 dev eth0 nolearning\n')
    expect(input(p, 'links (node1)')).toContain('route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink\n')
    expect(commands(p).find((c) => c.step === 'vxlan fdb (node1)')!.argv).toEqual(['bridge', '-n', `${prefix}-node1`, 'fdb', 'append', '0a:58:0a:f4:02:00', 'dev', 'flannel.1', 'dst', '192.168.1.13'])
    expect(input(p, `network (${prefix}-n1-curl)`)).toBe('link set dev lo up\naddr add 10.244.1.2/24 dev eth0\nlink set dev eth0 up\nroute add default via 10.244.1.1 dev eth0\n')
  })
  it('leaves br_netfilter off (absent counts as off) and writes flanneld chains', () => {
    expect(p.expect.sysctls.filter((s) => s.key.startsWith('net.bridge.'))).toEqual([
      {netns: `${prefix}-node1`, key: 'net.bridge.bridge-nf-call-iptables', value: '0', absentOk: true},
      {netns: `${prefix}-node2`, key: 'net.bridge.bridge-nf-call-iptables', value: '0', absentOk: true},
    ])
    expect(p.iptables.filter((r) => r.node === 'node1').map((r) => r.chain)).toEqual(['FORWARD', 'FLANNEL-FWD', 'FLANNEL-FWD', 'POSTROUTING', ...Array(6).fill('FLANNEL-POSTRTG')])
  })
})

describe('variant routed (Calico-style)', () => {
  const p = plan('routed')
  it('routes /32 pods through cali host ends with proxy ARP for the link-local gateway', () => {
    for (const pod of p.pods) {
      expect(pod.hostDev).toMatch(/^cali[0-9a-f]{11}$/)
      expect(pod.gateway).toBe('169.254.1.1')
      expect(input(p, `network (${pod.netns})`)).toContain(`addr add ${pod.ip}/32 dev eth0\nlink set dev eth0 up\nroute add 169.254.1.1/32 dev eth0 scope link\nroute add default via 169.254.1.1 dev eth0\n`)
      expect(input(p, `links (${pod.node})`)).toContain(`route add ${pod.ip}/32 dev ${pod.hostDev} scope link\n`)
      expect(p.expect.sysctls).toContainEqual({netns: `${prefix}-${pod.node}`, key: `net.ipv4.conf.${pod.hostDev}.proxy_arp`, value: '1'})
      expect(p.expect.devices).toContainEqual({netns: `${prefix}-${pod.node}`, name: pod.hostDev, kind: 'veth', addresses: [], mac: 'ee:ee:ee:ee:ee:ee'})
    }
    expect(p.expect.devices.some((d) => d.kind === 'bridge')).toBe(false)
  })
  it('tunnels over vxlan.calico (VNI 4096, UDP 4789) and writes Calico-shaped chains', () => {
    expect(p.expect.devices.filter((d) => d.kind === 'vxlan').map((d) => `${d.name} ${d.vxlan!.id} ${d.vxlan!.port}`)).toEqual(['vxlan.calico 4096 4789', 'vxlan.calico 4096 4789'])
    expect(input(p, 'links (node1)')).toContain('route add 10.65.209.64/26 via 10.65.209.64 dev vxlan.calico onlink\n')
    const chains = new Set(p.iptables.map((r) => r.chain))
    for (const c of ['cali-PREROUTING', 'cali-INPUT', 'cali-FORWARD', 'cali-from-wl-dispatch', 'cali-to-wl-dispatch', 'cali-fw-cali1b4e0c7a9d2', 'cali-tw-cali7f3a85d6c01', 'cali-nat-outgoing']) expect(chains).toContain(c)
    expect(p.iptables.every((r) => /^-A \S+ -m comment --comment "cali:[\w-]{16}"/.test(r.rule))).toBe(true)
  })
})

describe('variant nft-kube-proxy', () => {
  const p = plan('nft-kube-proxy')
  const t = p.nft[0]!
  it('writes a native table ip kube-proxy on node 1 with a verdict map, numgen, dnat to and mark-for-masquerade', () => {
    expect(p.nft.map((x) => `${x.node} ${x.family} ${x.name}`)).toEqual(['node1 ip kube-proxy'])
    expect(t.text).toContain('ip daddr . meta l4proto . th dport vmap @service-ips')
    expect(t.text).toContain('meta mark set meta mark | 0x00004000')
    expect(t.text).toContain('meta mark & 0x00004000 == 0 return')
    expect(t.text).toContain('masquerade fully-random')
    expect(t.text).toMatch(/numgen random mod 2 vmap \{ 0 : goto endpoint-[A-Z2-7]{8}-default\/httpbin\/tcp\/http__10\.244\.2\.7\/80, 1 : goto endpoint-[A-Z2-7]{8}-default\/httpbin\/tcp\/http__10\.244\.2\.8\/80 \}/)
    expect(t.text).toContain('meta l4proto udp dnat to 10.244.2.7:80')
    expect(t.chains).toContain('nat-prerouting')
  })
  it('has one TCP and one UDP Service, each probed, the endpoint seeing node 1 flannel.1 (masquerade)', () => {
    expect(p.services.map((s) => `${s.clusterIp}:${s.port}/${s.protocol}`)).toEqual(['10.96.0.80:80/tcp', '10.96.0.53:53/udp'])
    expect(p.flows.filter((f) => f.kind.startsWith('pod-to-service')).map((f) => `${f.proto} ${f.dst}:${f.dport} ${f.expect.peer} ${f.expect.listeners}`)).toEqual([
      'tcp 10.96.0.80:80 10.244.1.0 httpbin,redis',
      'udp 10.96.0.53:53 10.244.1.0 httpbin,redis',
    ])
  })
})

describe('variant policy-routing (AWS VPC CNI style)', () => {
  const p = plan('policy-routing')
  it('adds a second uplink to an outside netns, source policy routing to table 100 and SNAT to its address', () => {
    expect(p.outside).toMatchObject({netns: `${prefix}-ext`, node: 'node1', nodeDev: {name: 'eth1', ip: '172.31.40.10'}, ip: '172.31.40.1', listenIp: '203.0.113.10'})
    expect(p.ip.map((c) => c.command)).toEqual(['rule add pref 512 to 10.244.0.0/16 lookup main', 'rule add pref 1536 from 10.244.1.2 lookup 100', 'route add default via 172.31.40.1 dev eth1 table 100'])
    expect(p.expect.routes).toContainEqual({netns: `${prefix}-node1`, dst: 'default', dev: 'eth1', table: 100})
    expect(p.iptables.map((r) => r.rule)).toContain('-A AWS-SNAT-CHAIN-0 -o eth1 -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 172.31.40.10')
    expect(p.iptables.some((r) => r.owner === 'flannel')).toBe(false)
    expect(p.flows.at(-1)).toMatchObject({dst: '203.0.113.10', expect: {listeners: ['ext'], peer: '172.31.40.10'}})
  })
})

describe('variant notrack', () => {
  const p = plan('notrack')
  it('untracks the overlay port in raw PREROUTING and OUTPUT on both nodes, and DNATs on node 2', () => {
    const raw = p.iptables.filter((r) => r.table === 'raw').map((r) => `${r.node} ${r.rule}`)
    expect(raw).toEqual(['node1', 'node2'].flatMap((n) => [`${n} -A PREROUTING -p udp -m udp --dport 8472 -j NOTRACK`, `${n} -A OUTPUT -p udp -m udp --dport 8472 -j NOTRACK`]))
    expect(p.iptables.filter((r) => r.table === 'nat' && r.chain === 'PREROUTING').map((r) => `${r.node} ${r.rule}`)).toEqual(['node2 -A PREROUTING -d 10.244.2.7/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.2.8:80'])
    expect(p.flows.at(-1)).toMatchObject({dst: '10.244.2.7', dport: 8080, expect: {listeners: ['redis'], peer: '10.244.1.2'}})
  })
})

describe('variant br-netfilter', () => {
  const p = plan('br-netfilter')
  it('turns bridge-nf-call-iptables on (required), and drops a bridged port first in FORWARD', () => {
    expect(p.expect.sysctls.filter((s) => s.key.startsWith('net.bridge.')).map((s) => `${s.value} ${s.absentOk ?? false}`)).toEqual(['1 false', '1 false'])
    const fwd = iptablesRestoreInput(p.iptables, 'node1').split('\n').filter((l) => l.startsWith('-A FORWARD'))
    expect(fwd[0]).toBe('-A FORWARD -s 10.244.1.2/32 -d 10.244.1.3/32 -p tcp -m tcp --dport 6379 -m comment --comment "lab: bridged deny" -j DROP')
    expect(p.flows.map((f) => `${f.kind} ${f.expect.connected}`)).toEqual(['pod-to-pod-cross-node true', 'pod-to-pod-same-node-bridged true', 'pod-dropped-by-bridged-forward-rule false'])
  })
})
