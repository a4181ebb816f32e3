// `trace --reply`: the answer walked from DST back to SRC, conntrack ESTABLISHED, the forward NAT undone
// (docs/kernel-notes.md#kn-20-reply-conntrack-nat), asymmetric routing said where it happens (kn-21).
import {describe, expect, it} from 'vitest'
import {parseFlow} from '../../src/analyses/path/flow.js'
import {traceFlow} from '../../src/analyses/path/trace.js'
import type {CiliumFacts} from '../../src/datapaths/cilium/facts.js'
import type {NodeState} from '../../src/model/node-state.js'
import type {KernelOracle} from '../../src/model/oracle.js'
import type {RouteQuery} from '../../src/model/routing.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'
import {ROOT} from '../helpers/fixtures.js'
import {snapshotSource, traceNodes} from '../helpers/nodes.js'

async function reference() {
  return traceNodes(await Promise.all([1, 2].map((n) => snapshotSource(`${ROOT}testdata/reference/node${n}.json`))))
}

function iptables(node: NodeState, lines: string[]): void {
  const r = parseIptablesSave([...lines, ''].join('\n'), {family: 'ipv4', backend: 'nft'})
  expect(r.problems.filter((p) => !/header has no/.test(p.message))).toEqual([])
  node.xt = [r.facts]
}

/** Route answers as recomputed from tables would give them: `DST` or `DST iif DEV` → device. */
function routes(table: Record<string, string>, base: KernelOracle): KernelOracle {
  return {
    route: async (node, q: RouteQuery) => {
      const dev = table[`${q.dst} iif ${q.iif ?? ''}`] ?? table[q.dst]
      return dev ? {type: 'unicast', dev, evidence: 'rule', detail: `test table: ${q.dst} dev ${dev}`} : base.route(node, q)
    },
    podRoute: (node, ns, dst) => base.podRoute(node, ns, dst),
  }
}

/** Node 2 of the reference as a plain kernel datapath (no programs) with these rules. */
async function node2(rules: string[]) {
  const {nodes, oracle} = await reference()
  const n2 = nodes[1]!
  n2.attachments = []
  iptables(n2, rules)
  return {n2, oracle}
}

const FILTER_FORWARD = (established: boolean) => [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD DROP [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ...(established ? ['-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'] : []),
  '-A FORWARD -d 10.42.0.51/32 -p tcp -m tcp --dport 8080 -m conntrack --ctstate NEW -j ACCEPT',
  'COMMIT',
]
const DNAT = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A PREROUTING -d 192.168.1.13/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.42.0.51:8080', 'COMMIT']

describe('the reply on the reference nodes', () => {
  it('pod 2 answers pod 1: node 2 encapsulates it to node 1, which delivers it to pod 1', async () => {
    const {nodes, oracle} = await reference()
    // Node 2's snapshot holds no ipcache, node 1's no endpoint map: each is given the other pod's entry, as Cilium keeps them.
    const c1 = nodes[0]!.datapaths.cilium as CiliumFacts
    const c2 = nodes[1]!.datapaths.cilium as CiliumFacts
    c2.ipcache = [{...c1.ipcache[0]!, prefix: '10.42.1.80/32', address: '10.42.1.80', identity: 4242, tunnelEndpoint: '192.168.1.12'}]
    const lxc = nodes[0]!.hooks.devices.find((d) => d.name === 'lxc48c4aa0637ce')!
    c1.endpoints = c2.endpoints.map((e) => ({...e, ip: '10.42.1.80', endpointId: 1111, ifindex: lxc.ifindex}))
    const r = await traceFlow(nodes, parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'}), oracle, {reply: true})
    expect(r.outcome.kind).toBe('delivered')
    const back = r.reply!
    expect(back.flow).toMatchObject({src: '10.42.0.51', sport: 80, dst: '10.42.1.80', dport: 40000, proto: 'tcp'})
    expect(back.steps.map((s) => `${s.node} ${s.kind}`)).toEqual(expect.arrayContaining(['ubuntu-dev3 encap', 'ubuntu-dev3 wire', 'ubuntu-dev2 decap', 'ubuntu-dev2 deliver']))
    expect(back.steps.find((s) => s.kind === 'encap')!.outer).toMatchObject({src: '192.168.1.13', dst: '192.168.1.12', dport: 8472})
    expect(back.steps[back.steps.length - 1]).toMatchObject({kind: 'deliver', node: 'ubuntu-dev2', where: {device: 'lxc48c4aa0637ce'}, tuple: {src: '10.42.0.51', sport: 80, dst: '10.42.1.80', dport: 40000}})
    expect(back.outcome).toMatchObject({kind: 'delivered', text: 'the reply comes back (10.42.0.51:80 → 10.42.1.80:40000): reaches 10.42.1.80:40000 in cni-407cd7d8-7c02-cfa7-bf93-22946f923ffd on ubuntu-dev2'})
  })

  it('without --reply the report has no reply', async () => {
    const {nodes, oracle} = await reference()
    expect((await traceFlow(nodes, parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'}), oracle)).reply).toBeUndefined()
  })
})

describe('the reply is ESTABLISHED and the forward NAT is undone (kn-20)', () => {
  const RT = {'10.42.0.51': 'lxc65015af813d1', '192.168.1.50': 'eth0'}

  it('DNAT: the reply from the backend leaves with the address the client asked for, un-DNATed at POSTROUTING; an ESTABLISHED rule accepts it', async () => {
    const {n2, oracle} = await node2([...DNAT, ...FILTER_FORWARD(true)])
    const r = await traceFlow([n2], parseFlow({src: '192.168.1.50', dst: '192.168.1.13:80'}), routes(RT, oracle), {reply: true})
    expect(r.outcome.kind).toBe('delivered')
    const back = r.reply!
    expect(back.flow).toMatchObject({src: '10.42.0.51', sport: 8080, dst: '192.168.1.50', dport: 40000})
    const hooks = back.steps.filter((s) => s.kind === 'netfilter')
    expect(hooks.map((s) => `${s.where.hook} ${s.ct?.state} ${s.what}`)).toEqual([
      'netfilter prerouting ESTABLISHED no rule matched: policy ACCEPT',
      'netfilter forward ESTABLISHED filter/FORWARD #1: ACCEPT',
      'netfilter postrouting ESTABLISHED no rule matched: policy ACCEPT',
    ])
    // nat chains do not run for an established connection
    expect(hooks[0]!.tables!.find((t) => t.table === 'nat')!.verdict).toMatch(/^skipped: established connection/)
    const post = hooks[2]!
    expect(post.verdict).toBe('ACCEPT (un-DNAT source 10.42.0.51:8080 → 192.168.1.13:80)')
    expect(post.tuple).toMatchObject({src: '192.168.1.13', sport: 80, dst: '192.168.1.50', dport: 40000})
    expect(back.outcome).toMatchObject({kind: 'left-node', text: 'the reply comes back (192.168.1.13:80 → 192.168.1.50:40000): leaves ubuntu-dev3 on eth0 towards 192.168.1.50'})
  })

  it('without an ESTABLISHED rule the NEW rule does not match the reply: FORWARD drops it, and the outcome says where the reply stops', async () => {
    const {n2, oracle} = await node2([...DNAT, ...FILTER_FORWARD(false)])
    const r = await traceFlow([n2], parseFlow({src: '192.168.1.50', dst: '192.168.1.13:80'}), routes(RT, oracle), {reply: true})
    expect(r.outcome.kind).toBe('delivered')
    expect(r.reply!.outcome).toMatchObject({kind: 'dropped', text: 'the reply never comes back (192.168.1.13:80 → 192.168.1.50:40000): dropped by netfilter forward on ubuntu-dev3: :FORWARD DROP [0:0]'})
    expect(r.reply!.steps.find((s) => s.where.hook === 'netfilter forward')).toMatchObject({verdict: 'DROP', ct: {state: 'ESTABLISHED'}})
  })

  it('masquerade: the answer to the node address is un-SNATed at PREROUTING, routed to the pod and delivered', async () => {
    const {n2, oracle} = await node2(['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -o eth0 -j MASQUERADE', 'COMMIT'])
    const r = await traceFlow([n2], parseFlow({src: '10.42.0.51', dst: '192.168.1.50:443'}), routes(RT, oracle), {reply: true})
    expect(r.outcome).toMatchObject({kind: 'left-node'})
    expect(r.steps[r.steps.length - 1]!.tuple).toMatchObject({src: '192.168.1.13', dst: '192.168.1.50'})
    const back = r.reply!
    expect(back.flow).toMatchObject({src: '192.168.1.50', sport: 443, dst: '192.168.1.13', dport: 40000})
    const pre = back.steps.find((s) => s.where.hook === 'netfilter prerouting')!
    expect(pre.verdict).toBe('ACCEPT (un-SNAT destination 192.168.1.13:40000 → 10.42.0.51:40000)')
    expect(pre.tuple).toMatchObject({src: '192.168.1.50', dst: '10.42.0.51', dport: 40000})
    expect(back.outcome).toMatchObject({kind: 'delivered', text: 'the reply comes back (192.168.1.50:443 → 10.42.0.51:40000): reaches 10.42.0.51:40000 in the pod on ubuntu-dev3'})
  })
})

/** A second uplink on node 2, as policy-routing setups have (the lab variant `policy-routing`). */
function secondUplink(n2: NodeState): void {
  const eth0 = n2.hooks.devices.find((d) => d.name === 'eth0')!
  n2.hooks.devices.push({...eth0, name: 'eth1', ifindex: 30, addresses: eth0.addresses.map((a) => ({...a, local: '192.168.2.13'}))})
}

describe('where the reply parts from the forward path', () => {
  it('asymmetric routing: the reply leaves by eth1 while the forward packet came in on eth0, said on its route step and in the outcome', async () => {
    const {n2, oracle} = await node2([...DNAT, ...FILTER_FORWARD(true)])
    secondUplink(n2)
    const rt = {'10.42.0.51': 'lxc65015af813d1', '192.168.1.50': 'eth0', '192.168.1.50 iif lxc65015af813d1': 'eth1'}
    const r = await traceFlow([n2], parseFlow({src: '192.168.1.50', dst: '192.168.1.13:80'}), routes(rt, oracle), {reply: true})
    const text = 'asymmetric routing: the reply leaves ubuntu-dev3 by eth1, but the forward packet came in on eth0 (kn-21)'
    expect(r.reply!.steps.find((s) => s.kind === 'routing')!.details).toContain(text)
    expect(r.reply!.outcome.text).toBe(`the reply comes back (192.168.1.13:80 → 192.168.1.50:40000): leaves ubuntu-dev3 on eth1 towards 192.168.1.50 (${text})`)
  })

  it('strict rp_filter: a pod policy-routed out eth1 with SNAT gets its answer on eth1, whose source the main table routes out eth0: dropped (kn-22)', async () => {
    const {n2, oracle} = await node2(['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -o eth1 -j SNAT --to-source 192.168.2.13', 'COMMIT'])
    secondUplink(n2)
    const rt = {'10.42.0.51': 'lxc65015af813d1', '192.168.1.50': 'eth0', '192.168.1.50 iif lxc65015af813d1': 'eth1'}
    const flow = parseFlow({src: '10.42.0.51', dst: '192.168.1.50:443'})
    n2.rpFilter = {all: 0, devices: {eth0: 0, eth1: 1}}
    const r = await traceFlow([n2], flow, routes(rt, oracle), {reply: true})
    expect(r.steps[r.steps.length - 1]).toMatchObject({kind: 'wire', where: {device: 'eth1'}, tuple: {src: '192.168.2.13'}})
    const back = r.reply!
    // The answer arrives on the uplink the request left by, and is un-SNATed at PREROUTING.
    expect(back.steps[0]).toMatchObject({kind: 'wire', where: {device: 'eth1'}})
    expect(back.steps.find((s) => s.where.hook === 'netfilter prerouting')!.tuple).toMatchObject({dst: '10.42.0.51', dport: 40000})
    expect(back.outcome).toMatchObject({
      kind: 'dropped',
      text: 'the reply never comes back (192.168.1.50:443 → 10.42.0.51:40000): dropped by reverse-path filtering on ubuntu-dev3: rp_filter 1 (strict) on eth1: the route back to 192.168.1.50 leaves by eth0, not eth1 (fib_validate_source: EXDEV, kn-22)',
    })
    // loose (2): the source has a route: the reply is delivered
    n2.rpFilter = {all: 2, devices: {eth1: 0}}
    const loose = await traceFlow([n2], flow, routes(rt, oracle), {reply: true})
    expect(loose.reply!.outcome.kind).toBe('delivered')
  })

  it("Calico-style `-m rpfilter --invert -j DROP` in raw PREROUTING decides with the kernel's route back: the answer on eth1 is dropped, on eth0 it passes", async () => {
    const rules = ['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A PREROUTING -m rpfilter --invert -j DROP', 'COMMIT', '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -o eth1 -j SNAT --to-source 192.168.2.13', 'COMMIT']
    const {n2, oracle} = await node2(rules)
    secondUplink(n2)
    const flow = parseFlow({src: '10.42.0.51', dst: '192.168.1.50:443'})
    const policy = {'10.42.0.51': 'lxc65015af813d1', '192.168.1.50': 'eth0', '192.168.1.50 iif lxc65015af813d1': 'eth1'}
    const r = await traceFlow([n2], flow, routes(policy, oracle), {reply: true})
    const pre = r.reply!.steps.find((s) => s.where.hook === 'netfilter prerouting')!
    expect(pre).toMatchObject({what: 'raw/PREROUTING #1: DROP', verdictKind: 'drop', where: {device: 'eth1'}})
    expect(r.reply!.outcome.text).toBe('the reply never comes back (192.168.1.50:443 → 10.42.0.51:40000): dropped by netfilter prerouting on ubuntu-dev3: -A PREROUTING -m rpfilter --invert -j DROP')
    // the main table routes it out eth1 too: the check passes and the answer is delivered
    const both = await traceFlow([n2], flow, routes({...policy, '192.168.1.50': 'eth1'}, oracle), {reply: true})
    expect(both.reply!.outcome.kind).toBe('delivered')
  })
})
