import {describe, expect, it} from 'vitest'
import {parseFlow} from '../../src/analyses/path/flow.js'
import {traceFlow} from '../../src/analyses/path/trace.js'
import {liveSource} from '../../src/state/sources.js'
import {snapshotSource, traceNodes} from '../helpers/nodes.js'
import {ROOT} from '../helpers/fixtures.js'

async function nodes(...ns: Array<1 | 2>) {
  return traceNodes(await Promise.all(ns.map((n) => snapshotSource(`${ROOT}testdata/reference/node${n}.json`))))
}

describe('trace on the two reference nodes of docs/scenario.md', () => {
  it('reproduces the eight steps of the walk, in order, with the tail-call delivery on node 2', async () => {
    const {nodes: both, oracle} = await nodes(1, 2)
    const r = await traceFlow(both, parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'}), oracle)
    const key = (s: (typeof r.steps)[number]) => `${s.node} ${s.kind} ${s.where.device ?? ''} ${s.where.hook ?? ''} ${s.program?.role ?? ''}`.replace(/\s+/g, ' ').trim()
    const keys = r.steps.map(key)
    // The eight steps of docs/scenario.md#the-walk, as a subsequence of the (finer) path
    const scenario = [
      'ubuntu-dev2 pod-route eth0', // 1. pod 1 sends via 10.42.1.247 on its eth0
      'ubuntu-dev2 bpf lxc48c4aa0637ce tc ingress from-container', // 2. ipcache → tunnel 192.168.1.13, encapsulate, redirect
      'ubuntu-dev2 bpf cilium_vxlan tc egress to-overlay', // 3.
      'ubuntu-dev2 bpf eth0 tc egress to-netdev', // 4. leaves for 192.168.1.13
      'ubuntu-dev3 bpf eth0 tc ingress from-netdev', // 5.
      'ubuntu-dev3 bpf cilium_vxlan tc ingress from-overlay', // 6. cilium_lxc → endpoint ifindex 29, tail call
      'ubuntu-dev3 tail-call cilium_vxlan tail call (not attached to a hook) to-container', // 7. policy, redirect to lxc65015af813d1
      'ubuntu-dev3 deliver lxc65015af813d1', // 8. reaches pod 2's eth0
    ]
    let at = 0
    for (const s of scenario) {
      const i = keys.indexOf(s, at)
      expect(i, `step "${s}" after position ${at} in:\n${keys.join('\n')}`).toBeGreaterThanOrEqual(at)
      at = i + 1
    }
    const step = (k: string) => r.steps[keys.indexOf(k)]!
    expect(step(scenario[0]!)).toMatchObject({what: 'pod 10.42.1.80 (netns cni-407cd7d8-7c02-cfa7-bf93-22946f923ffd): 10.42.0.51 via 10.42.1.247 dev eth0 src 10.42.1.80', evidence: 'kernel'})
    expect(step(scenario[1]!)).toMatchObject({verdict: 'encapsulate to 192.168.1.13, redirect to cilium_vxlan', evidence: 'program', program: {id: 2901, name: 'handle_xgress'}, outer: {src: '192.168.1.12', dst: '192.168.1.13', proto: 'udp', dport: 8472}})
    expect(step(scenario[1]!).details).toContain('cilium_ipcache: 10.42.0.51/32 identity=15773 encryptkey=0 tunnelendpoint=192.168.1.13')
    expect(step(scenario[5]!).details).toContain('cilium_lxc: 10.42.0.51:0 id=2826 ifindex=29 mac=96:86:44:a6:37:ec nodemac=d2:ad:65:4d:d0:7b')
    expect(step(scenario[6]!)).toMatchObject({verdict: 'ingress policy, then redirect to lxc65015af813d1'})
    // between them: the tunnel, the underlay route (assumed: routes were not recorded) and the decapsulation
    expect(r.steps.filter((s) => s.kind === 'encap' || s.kind === 'decap' || s.kind === 'wire').map((s) => s.kind)).toEqual(['encap', 'wire', 'decap'])
    expect(r.steps.find((s) => s.kind === 'routing' && s.node === 'ubuntu-dev2')!.evidence).toBe('assumed')
    expect(r.outcome).toEqual({kind: 'delivered', step: r.steps.length, text: 'reaches 10.42.0.51:80 in the pod on ubuntu-dev3'})
    // what could not be seen is listed, never skipped silently
    expect(r.unseen).toEqual(expect.arrayContaining(['ubuntu-dev3: the to-container program of endpoint 2826 (cilium_call_policy not read)', 'ubuntu-dev2: netfilter rules were not recorded: no netfilter step could be evaluated']))
    // the mark is carried through every step
    expect(r.steps.every((s) => s.mark === 0)).toBe(true)
  })

  it('with only node 1, the flow leaves on eth0 for 192.168.1.13', async () => {
    const {nodes: one, oracle} = await nodes(1)
    const r = await traceFlow(one, parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'}), oracle)
    expect(r.outcome).toMatchObject({kind: 'left-node', text: 'leaves ubuntu-dev2 on eth0 towards 192.168.1.13'})
  })
})

describe('trace on the live host (read-only)', () => {
  it('a packet to one of its own addresses is looped back and delivered locally', async () => {
    const {nodes: host, oracle} = await traceNodes([liveSource()])
    const r = await traceFlow(host, parseFlow({src: '127.0.0.1', dst: '127.0.0.1:80'}), oracle)
    expect(r.steps[0]).toMatchObject({kind: 'routing', verdict: 'local', evidence: 'kernel'})
    expect(r.outcome.kind).toBe('local')
  })
})
