// The lab's flows, Service, external namespace and netfilter rules as data; the iptables-restore input and the
// pairing with what iptables-save prints back. No privileges.
import {describe, expect, it} from 'vitest'
import {COLLIDE_MARK_OR, iptablesRestoreInput, labNetfilterPlan, pairSavedRules, saveRulesByChain} from '../../src/lab/netfilter.js'
import {kubeProxyChain, labTopology} from '../../src/lab/topology.js'
import {testdata} from '../helpers/fixtures.js'
import {devnameOf} from '../support/flow-records.js'
import {planBatches} from './plan-batches.js'

const t = labTopology('nilab-t1')

describe('flows, Service and the external namespace', () => {
  it("names kube-proxy's chains exactly as kube-proxy does (checked against the kind fixture's names)", () => {
    const kind = testdata('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')
    expect(kind).toContain(`:${kubeProxyChain('default/kubernetes:https', 'tcp')} - [0:0]`)
    expect(kubeProxyChain('default/kubernetes:https', 'tcp')).toBe('KUBE-SVC-NPX46M4PTMTKRN6Y')
    expect(kubeProxyChain('default/traefik:web', 'tcp', '10.244.0.5:8000')).toBe('KUBE-SEP-242VRRB6CJESMF7F')
    expect(t.services).toEqual([
      {name: 'default/httpbin:http', node: 'node1', clusterIp: '10.96.0.80', port: 80, protocol: 'tcp', svcChain: 'KUBE-SVC-FREKB6WNWYJLKTHC', endpoints: [{pod: 'httpbin', ip: '10.42.0.51', port: 80, sepChain: 'KUBE-SEP-YTXN4VEJAMOLS3CC'}]},
    ])
  })

  it('has five flows, all from curl, with what a probe must find', () => {
    expect(t.flows.map((f) => `${f.kind} ${f.src} -> ${f.dst}:${f.dport} ${f.expect.connected ? 'connects' : 'dropped'} on ${f.expect.nodes.join('+')}`)).toEqual([
      'pod-to-pod-cross-node 10.42.1.80 -> 10.42.0.51:80 connects on node1+node2',
      'pod-to-pod-same-node 10.42.1.80 -> 10.42.1.81:80 connects on node1',
      'pod-to-service 10.42.1.80 -> 10.96.0.80:80 connects on node1+node2',
      'pod-to-external-masquerade 10.42.1.80 -> 172.31.0.2:80 connects on node1',
      'pod-dropped-by-mark 10.42.1.80 -> 10.42.0.52:6379 dropped on node1',
    ])
    expect(t.flows[2]!.expect.dnat).toEqual({from: '10.96.0.80:80', to: '10.42.0.51:80', chain: 'KUBE-SEP-YTXN4VEJAMOLS3CC'})
    expect(t.flows[3]!.expect.snat).toEqual({to: '172.31.0.1', rule: '-A POSTROUTING -s 10.42.0.0/16 ! -d 10.42.0.0/16 -o eth1 -j MASQUERADE'})
    expect(t.flows[4]!.expect.drop).toEqual({mark: 0x8000, markChain: 'KUBE-MARK-DROP', table: 'filter', chain: 'KUBE-FIREWALL'})
    // nginx listens like httpbin; redis does not (its flow is dropped before it could be refused).
    expect(t.pods.filter((p) => p.listener).map((p) => `${p.name}:${p.listener!.port}`)).toEqual(['nginx:80', 'httpbin:80'])
  })

  it('joins the external namespace to node 1 by eth1, with no route back to the pods', () => {
    expect(t.ext).toEqual({name: 'ext', netns: 'nilab-t1-ext', node: 'node1', ip: '172.31.0.2', prefixLen: 24, eth0: {name: 'eth0', ifindex: 2, mac: '0a:4e:0e:00:00:02'}, nodeDev: {name: 'eth1', ifindex: 6, mac: '0a:4e:01:00:00:06', ip: '172.31.0.1'}, listener: {port: 80}})
    const b = planBatches(t).nodeIp('node1')
    expect(b).toContain('link add eth1 index 6 address 0a:4e:01:00:00:06 type veth peer name eth0 index 2 address 0a:4e:0e:00:00:02 netns nilab-t1-ext')
    expect(b).toContain('addr add 172.31.0.1/24 dev eth1')
    expect(b).toContain('link set dev eth1 up')
    expect(planBatches(t).nodeIp('node2').some((l) => l.includes('eth1'))).toBe(false)
    expect(planBatches(t).extIp()).toEqual(['link set dev lo up', 'addr add 172.31.0.2/24 dev eth0', 'link set dev eth0 up'])
    expect(devnameOf(t, 'node1', 6)).toBe('eth1')
  })
})

describe('netfilter plan', () => {
  const base = labNetfilterPlan(t)
  const collide = labNetfilterPlan(t, 'collide')

  it('base: kube-proxy Service chains with the real shapes, masquerade on eth1, the mark-drop pair; all on node 1', () => {
    expect(base.rules.every((r) => r.node === 'node1' && r.variant === 'base')).toBe(true)
    expect(base.ip).toEqual([])
    const lines = base.rules.map((r) => r.rule)
    expect(lines).toContain('-A KUBE-SERVICES -d 10.96.0.80/32 -p tcp -m comment --comment "default/httpbin:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-FREKB6WNWYJLKTHC')
    expect(lines).toContain('-A KUBE-SVC-FREKB6WNWYJLKTHC -m comment --comment "default/httpbin:http -> 10.42.0.51:80" -j KUBE-SEP-YTXN4VEJAMOLS3CC')
    expect(lines).toContain('-A KUBE-SEP-YTXN4VEJAMOLS3CC -p tcp -m comment --comment "default/httpbin:http" -m tcp -j DNAT --to-destination 10.42.0.51:80')
    expect(lines).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000')
    expect(lines).toContain('-A POSTROUTING -s 10.42.0.0/16 ! -d 10.42.0.0/16 -o eth1 -j MASQUERADE')
    expect(lines).toContain('-A PREROUTING -d 10.42.0.52/32 -p tcp -m tcp --dport 6379 -m comment --comment "lab: deny redis:6379" -j KUBE-MARK-DROP')
    expect(lines).toContain('-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP')
    // FORWARD: kube-proxy's chain first, then the firewall that drops the marked redis flow.
    expect(base.rules.filter((r) => r.table === 'filter' && r.chain === 'FORWARD').map((r) => `${r.position} ${r.rule}`)).toEqual([
      '1 -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      '2 -A FORWARD -j KUBE-FIREWALL',
    ])
  })

  it('collide: the base plus Cilium (rules, ip rule 9, table 2004) and Istio (whole mark 0x1337, 0x111/0xfff match)', () => {
    expect(collide.rules.slice(0, base.rules.length)).toEqual(base.rules)
    const added = collide.rules.filter((r) => r.variant === 'collide')
    expect([...new Set(added.map((r) => r.owner))]).toEqual(['cilium', 'istio'])
    expect(added.filter((r) => r.owner === 'istio').map((r) => `${r.table} ${r.chain} ${r.position}: ${r.rule}`)).toEqual([
      'mangle OUTPUT 1: -A OUTPUT -j ISTIO_OUTPUT',
      'mangle ISTIO_OUTPUT 1: -A ISTIO_OUTPUT -p tcp -m owner --uid-owner 1337 -j MARK --set-mark 0x1337',
      'nat OUTPUT 2: -A OUTPUT -p tcp -j ISTIO_OUTPUT',
      'nat ISTIO_OUTPUT 1: -A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT',
    ])
    expect(added.filter((r) => r.owner === 'cilium').map((r) => r.rule)).toContain('-A CILIUM_INPUT -m mark --mark 0x200/0xf00 -m comment --comment "cilium: ACCEPT for proxy traffic" -j ACCEPT')
    expect(collide.ip.map((c) => c.command)).toEqual(['rule add pref 9 fwmark 0x200/0xf00 lookup 2004', 'route add local 0.0.0.0/0 dev lo table 2004'])
    expect(COLLIDE_MARK_OR & 0xf00).toBe(COLLIDE_MARK_OR)
  })

  it('iptables-restore input: every table once, builtin and user chains declared, rules in order', () => {
    const text = iptablesRestoreInput(collide.rules, 'node1')
    expect(text.split('\n').filter((l) => l.startsWith('*'))).toEqual(['*mangle', '*nat', '*filter'])
    expect(text.split('\n').filter((l) => l === 'COMMIT')).toHaveLength(3)
    const nat = text.slice(text.indexOf('*nat'), text.indexOf('*filter'))
    for (const c of [':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-SVC-FREKB6WNWYJLKTHC - [0:0]', ':KUBE-SEP-YTXN4VEJAMOLS3CC - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':ISTIO_OUTPUT - [0:0]']) expect(nat).toContain(`${c}\n`)
    expect(nat).not.toContain(':MASQUERADE')
    expect(iptablesRestoreInput(collide.rules, 'node2')).toBe('')
  })

  it('pairs each rule with its saved line by table, chain and position, and reports what is missing or extra', () => {
    const rules = labNetfilterPlan(t).rules
    const save = [
      '*nat',
      ...rules.filter((r) => r.table === 'nat').map((r) => r.rule.replace('--or-mark 0x4000', '--set-xmark 0x4000/0x4000').replace('--xor-mark 0x4000', '--set-xmark 0x4000/0x0')),
      'COMMIT',
      '*mangle',
      ...rules.filter((r) => r.table === 'mangle').map((r) => r.rule.replace('--or-mark 0x8000', '--set-xmark 0x8000/0x8000')),
      '-A KUBE-MARK-DROP -j ACCEPT',
      'COMMIT',
    ].join('\n')
    expect(saveRulesByChain(save).get('nat/KUBE-POSTROUTING')).toHaveLength(3)
    const {saved, problems} = pairSavedRules(rules, save, 'node1')
    expect(saved.get(rules.find((r) => r.chain === 'KUBE-MARK-MASQ')!)).toBe('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000')
    expect(problems).toContain('mangle KUBE-MARK-DROP holds 2 rules, the lab wrote 1')
    expect(problems.some((p) => p.startsWith('filter INPUT has no rule 1'))).toBe(true)
  })
})
