// macvlan in bridge mode (docs/kernel-notes.md#kn-26-macvlan-bridge-mode) on synthetic nodes shaped like the live
// test's: a lower device low0 in netns `lower`, and macvlans mva (netns `a`) and mvb (netns `b`) on it.
import {describe, expect, it} from 'vitest'
import {macvlanXmit} from '../../src/analyses/path/macvlan.js'
import {PathWalker} from '../../src/analyses/path/walk.js'
import type {Device} from '../../src/model/hooks.js'
import {hooksOnlyState, type NodeState} from '../../src/model/node-state.js'
import type {FlowSpec} from '../../src/model/path.js'

function dev(d: Partial<Device> & Pick<Device, 'ifindex' | 'name' | 'kind'>): Device {
  return {flags: ['UP'], altnames: [], addresses: [], ...d}
}

/** A node read in netns `ns` holding `devices`; `names`: its nsid → netns name (ip netns list-id). */
function node(ns: string, devices: Device[], names: Array<[number, string]> = []): NodeState {
  const hooks = {devices, netnsNames: new Map(names), routes: [], neighbours: [], programs: [], links: [], warnings: []} as unknown as NodeState['hooks']
  return hooksOnlyState(ns, {kind: 'snapshot', netns: ns}, hooks, [])
}

const inet = (local: string) => [{family: 'inet' as const, local, prefixlen: 24}]

/** The three namespaces; the nsid of `lower` differs between a and b, as it may on a real machine. */
function nodes(modeA = 'bridge', modeB = 'bridge'): {a: NodeState; b: NodeState; lower: NodeState} {
  const lower = node('lower', [dev({ifindex: 3, name: 'low0', kind: 'veth', addresses: inet('10.7.0.254'), peer: {name: 'lowp', sameNetns: true}})])
  const a = node('a', [dev({ifindex: 4, name: 'mva', kind: 'macvlan', addresses: inet('10.7.0.1'), macvlan: {mode: modeA, lowerIfindex: 3, lowerNetnsId: 0}})], [[0, 'lower']])
  const b = node('b', [dev({ifindex: 5, name: 'mvb', kind: 'macvlan', addresses: inet('10.7.0.2'), macvlan: {mode: modeB, lowerIfindex: 3, lowerNetnsId: 7}})], [[7, 'lower']])
  return {a, b, lower}
}

const mva = (n: NodeState) => n.hooks.devices[0]!

const flow = (src: string, dst: string): FlowSpec => ({family: 'ipv4', src, dst, proto: 'tcp', sport: 40000, dport: 8080, mark: 0})

/** Each node's route answer: the destination on-link out the node's one device (or local where it holds it). */
async function walk(ns: NodeState[], f: FlowSpec) {
  const deps = {
    route: async (n: NodeState, q: {dst: string}) => {
      const d = n.hooks.devices[0]!
      return d.addresses.some((a) => a.local === q.dst) ? {type: 'local', dev: 'lo', evidence: 'kernel' as const, detail: 'local'} : {type: 'unicast', dev: d.name, evidence: 'kernel' as const, detail: `dev ${d.name}`}
    },
    podRoute: async () => undefined,
  }
  return new PathWalker(ns, f, deps).walk()
}

describe('macvlan_queue_xmit', () => {
  it('bridge mode to a bridge-mode sibling on the same lower device (matched by netns name, not nsid): the sibling', () => {
    const {a, b, lower} = nodes()
    const d = macvlanXmit([a, b, lower], a, mva(a), '10.7.0.2')
    expect(d).toMatchObject({kind: 'sibling', dev: {name: 'mvb'}, xnet: true})
    expect(d.what).toBe('mva (bridge) hands the frame for 10.7.0.2 to its sibling mvb in netns b (bridge): it never reaches the lower device\'s wire')
  })

  it('private, vepa, or a sibling not in bridge mode: the lower device transmits it', () => {
    for (const [ma, mb] of [['private', 'bridge'], ['vepa', 'bridge'], ['bridge', 'vepa']]) {
      const {a, b, lower} = nodes(ma, mb)
      const d = macvlanXmit([a, b, lower], a, mva(a), '10.7.0.2')
      expect(d.kind, `${ma}/${mb}`).toBe('lower')
      expect(d.kind === 'lower' && d.lower?.dev.name).toBe('low0')
    }
  })

  it("a lower device in a netns with no name: unknown, said why", () => {
    const {a, b} = nodes()
    a.hooks.netnsNames.clear()
    expect(macvlanXmit([a, b], a, mva(a), '10.7.0.2')).toMatchObject({kind: 'unknown', what: "mva's lower device could not be placed (its netns, nsid 0, has no name: ip netns list-id): which macvlans share it is unknown"})
  })
})

describe('the walk through macvlans', () => {
  it('a → b in bridge mode: one macvlan step naming the sibling\'s netns, then b receives it', async () => {
    const {a, b, lower} = nodes()
    const r = await walk([a, b, lower], flow('10.7.0.1', '10.7.0.2'))
    expect(r.steps.map((s) => `${s.node} ${s.kind} ${s.verdict}`)).toEqual(['a routing out mva', 'a macvlan to mvb in netns b', 'b routing local'])
    expect(r.steps[1]!.verdictKind).toBe('forward')
    expect(r.outcome).toMatchObject({kind: 'local', text: 'delivered to a local socket on b (10.7.0.2:8080)'})
  })

  it('a in private mode: out by the lower device, which never delivers to its own macvlan child', async () => {
    const {a, b, lower} = nodes('private')
    const r = await walk([a, b, lower], flow('10.7.0.1', '10.7.0.2'))
    expect(r.steps.map((s) => `${s.node} ${s.kind} ${s.verdict}`)).toEqual(['a routing out mva', 'a macvlan out low0', 'lower wire leaves the node'])
    expect(r.outcome.kind).toBe('left-node')
    expect(r.outcome.text).toContain('it never reaches mvb in netns b, a macvlan of low0')
  })

  it('the lower device (the host) to a macvlan child: not delivered, said so', async () => {
    const {a, b, lower} = nodes()
    const r = await walk([lower, b, a], flow('10.7.0.254', '10.7.0.2'))
    expect(r.outcome).toMatchObject({kind: 'left-node', text: 'leaves lower on low0 towards 10.7.0.2; it never reaches mvb in netns b, a macvlan of low0: what a lower device transmits goes to its wire, not to its macvlans'})
  })

  it('a child to its lower device\'s own address: transmitted on the lower device, not delivered to it', () => {
    const {a, b, lower} = nodes()
    const d = macvlanXmit([a, b, lower], a, mva(a), '10.7.0.254')
    expect(d.kind).toBe('lower')
    expect(d.details.join('\n')).toContain('a macvlan cannot reach its own lower device')
  })
})
