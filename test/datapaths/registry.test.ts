import {describe, expect, it} from 'vitest'
import {cilium} from '../../src/datapaths/cilium/plugin.js'
import type {CiliumFacts} from '../../src/datapaths/cilium/facts.js'
import type {ProgramAtHook} from '../../src/datapaths/plugin.js'
import {DATAPATHS, datapathOf, factsOf} from '../../src/datapaths/registry.js'
import {recogniseAttachment} from '../../src/knowledge/programs.js'
import type {Device, HookAttachment} from '../../src/model/hooks.js'

const attachment = (name: string): HookAttachment => ({ifindex: 43, devname: 'lxc1', hook: 'tc-ingress', progId: 7, attachName: name, witnesses: []})
const at = (name: string): ProgramAtHook => {
  const a = attachment(name)
  const recognition = recogniseAttachment(a, {name: undefined})
  return {attachment: a, ...(recognition ? {recognition} : {}), depth: 0}
}
const dev = (ifindex: number, name: string, extra: Partial<Device> = {}): Device => ({ifindex, name, kind: 'veth', addresses: [], ...extra}) as Device

describe('the datapath registry', () => {
  it('lists Cilium, which models Cilium programs only (recognised by knowledge/programs.ts)', () => {
    expect(DATAPATHS.map((d) => d.name)).toEqual(['cilium'])
    expect(datapathOf(at('bpf_lxc.o:[from-container]'))?.name).toBe('cilium')
    expect(datapathOf(at('cil_from_netdev-eth0'))?.name).toBe('cilium')
    expect(datapathOf(at('calico_tc_main'))).toBeUndefined()
    expect(datapathOf(at('foreign_ingress'))).toBeUndefined()
  })

  it("a node's facts by plugin name; a plugin whose maps were not read gets its empty facts", () => {
    expect(factsOf(cilium, {})).toEqual(cilium.emptyFacts())
    const read = {...cilium.emptyFacts(), notes: ['x']}
    expect(factsOf(cilium, {cilium: read})).toBe(read)
  })
})

describe("Cilium's semantics", () => {
  const facts: CiliumFacts = {...cilium.emptyFacts(), endpoints: [{ip: '10.42.1.81', family: 'ipv4', keyIndex: 0, endpointId: 77, ifindex: 45, mac: 'aa:aa:aa:aa:aa:aa', nodeMac: 'bb:bb:bb:bb:bb:bb', flags: 0, isHost: false}]}
  const node = {label: 'n1', devices: [dev(43, 'lxc1'), dev(45, 'lxc2')], programs: []}
  const pkt = (dst: string) => ({tuple: {src: '10.42.1.80', dst, proto: 'tcp' as const, sport: 40000, dport: 80}, mark: 0})

  it('from-container to a local endpoint delivers into its pod', () => {
    const e = cilium.semantics({facts, node, dev: node.devices[0]!, program: at('bpf_lxc.o:[from-container]'), pkt: pkt('10.42.1.81')})
    expect(e.next).toEqual({kind: 'deliver', dev: node.devices[1]})
    expect(e.steps).toEqual([{verdict: 'local endpoint 77: to-container, then redirect to lxc2', verdictKind: 'redirect', evidence: 'program', details: ['cilium_lxc: 10.42.1.81 is local endpoint 77 on ifindex 45', 'egress policy: not read (assumed allowed)']}])
  })

  it('from-container with no ipcache read hands the packet to the stack, assumed', () => {
    const e = cilium.semantics({facts, node, dev: node.devices[0]!, program: at('bpf_lxc.o:[from-container]'), pkt: pkt('10.42.0.51')})
    expect(e).toEqual({steps: [{verdict: 'pass to the stack', verdictKind: 'pass', evidence: 'assumed', details: ['cilium_ipcache not read: assumed handed to the stack']}], next: {kind: 'pass'}})
  })

  it('the other roles hand the packet on: from-netdev to the stack, the rest to the next hook', () => {
    for (const [name, verdict] of [['bpf_netdev_eth0.o:[from-netdev]', 'pass to the stack'], ['bpf_netdev_eth0.o:[to-netdev]', 'pass'], ['bpf_overlay.o:[to-overlay]', 'pass']] as const) {
      expect(cilium.semantics({facts, node, dev: node.devices[0]!, program: at(name), pkt: pkt('10.42.0.51')}).steps[0]).toMatchObject({verdict, verdictKind: 'pass', evidence: 'program'})
    }
  })

  it('resolves tail calls through cilium_call_policy only, and places endpoints by cilium_lxc', () => {
    expect(cilium.resolveTailCall({facts, pkt: pkt('10.42.1.81'), mapIds: [5]})).toBeUndefined()
    const policy = {...facts, selected: [{name: 'cilium_call_policy' as const, map: {id: 5, type: 'prog_array', name: 'cilium_call_pol', keySize: 4, valueSize: 4, maxEntries: 65535, flags: 0}, candidateIds: [5], reason: 'only-one' as const, usedByProgIds: [], evidence: 'attached' as const}], policyCalls: [{key: 77, progId: 900}]}
    // the slot's program is the endpoint's to-container, whatever its name (handle_policy)
    expect(cilium.resolveTailCall({facts: policy, pkt: pkt('10.42.1.81'), mapIds: [5]})).toMatchObject({
      note: 'cilium_lxc: 10.42.1.81 is endpoint 77 (ifindex 45); tail call cilium_call_policy[77] → program 900',
      target: {progId: 900, endpointIfindex: 45, recognition: {software: 'Cilium', role: 'to-container', matchedBy: 'tail-call', matched: 'cilium_call_policy[77]'}},
    })
    expect(cilium.resolveTailCall({facts: policy, pkt: pkt('10.42.0.51'), mapIds: [5]})).toEqual({note: 'tail call through cilium_call_policy (map 5): 10.42.0.51 is not a local endpoint in cilium_lxc: the packet continues'})
    expect(cilium.endpointOf(facts, '10.42.1.81')).toEqual({ifindex: 45, detail: 'cilium_lxc: 10.42.1.81 is endpoint 77 on ifindex 45'})
    expect(cilium.endpointOf(facts, '10.42.0.51')).toBeUndefined()
    expect(cilium.extraProgramIds({...facts, policyCalls: [{key: 77, progId: 900}]})).toEqual([900])
  })
})
