import {describe, expect, it} from 'vitest'
import {multisetDiff, withoutIds} from '../../../src/analyses/diff/multiset.js'
import {diffHooks} from '../../../src/analyses/diff/hooks.js'
import type {HooksReport} from '../../../src/analyses/hooks.js'

describe('multisetDiff: only the surplus on either side is a change', () => {
  it('counts repeats, keeps order', () => {
    expect(multisetDiff(['a', 'b', 'b', 'c'], ['b', 'c', 'c', 'd'], (x) => x)).toEqual({removed: ['a', 'b'], added: ['c', 'd']})
    expect(multisetDiff([], ['x'], (x) => x)).toEqual({removed: [], added: ['x']})
  })
  it('withoutIds: ids and positions move on an unchanged node', () => {
    expect(withoutIds('prog 77 cil_from_container @9, iptables nat KUBE-SVC-X #3 (id 5763, map 880)')).toBe('prog N cil_from_container @9, iptables nat KUBE-SVC-X #N (id N, map N)')
  })
})

/** A hooks report of one device whose hooks hold these programs (`hook:tag:name`). */
function hooks(...progs: string[]): HooksReport {
  const views = progs.map((p, i) => {
    const [hook, tag, name] = p.split(':')
    return {hook, kernelName: '', direction: 'ingress', order: i, progId: 100 + i, program: {id: 100 + i, type: 'sched_cls', name, tag, mapIds: []}, witnesses: []}
  })
  return {devices: [{ifindex: 2, name: 'eth0', kind: 'veth', role: 'uplink', roleBecause: '', addresses: [], hooks: views}]} as unknown as HooksReport
}

describe('diffHooks: attached, detached, replaced, by tag (never by id)', () => {
  it('the same tags under new ids: no change', () => {
    expect(diffHooks(hooks('tc-ingress:aa:x', 'xdp:bb:y'), hooks('xdp:bb:y', 'tc-ingress:aa:x'))).toEqual([])
  })
  it('another tag on the same hook is a replacement; a new hook an attachment; a gone one a detachment', () => {
    const d = diffHooks(hooks('tc-ingress:aa:x', 'tcx-ingress:cc:f'), hooks('tc-ingress:ab:x', 'tc-egress:dd:z'))
    expect(d.map((c) => `${c.change} ${c.device} ${c.hook} ${c.before?.tag ?? '-'} → ${c.after?.tag ?? '-'}`)).toEqual(['attached eth0 tc-egress - → dd', 'replaced eth0 tc-ingress aa → ab', 'detached eth0 tcx-ingress cc → -'])
  })
  it('a second program on a tcx hook is attached, the first unchanged', () => {
    expect(diffHooks(hooks('tcx-ingress:aa:x'), hooks('tcx-ingress:ee:foreign', 'tcx-ingress:aa:x')).map((c) => `${c.change} ${c.after?.name}`)).toEqual(['attached foreign'])
  })
})
