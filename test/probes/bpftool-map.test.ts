// bpftool's map commands: `bpftool -j map show` as bpftool 7.1 prints it (the dumps are decoded by the datapaths' layouts: test/datapaths/).
import {describe, expect, it} from 'vitest'
import {mapNameIs, parseBpftoolMapShow} from '../../src/probes/bpftool-map.js'
import {MAP_SHOW_7_1} from '../helpers/bpftool-map-show.js'

describe('bpftool -j map show', () => {
  const text = MAP_SHOW_7_1

  it('reads every field, keeping the kernel names as printed', () => {
    const {facts, problems} = parseBpftoolMapShow(text)
    expect(problems).toEqual([])
    expect(facts[1]).toEqual({id: 102, type: 'lpm_trie', name: 'cilium_ipcache', keySize: 24, valueSize: 12, maxEntries: 512000, flags: 1})
    expect(facts[2]).toMatchObject({id: 103, name: 'cilium_call_pol', ownerProgType: 'sched_cls'})
    expect(facts[3]).toMatchObject({id: 104, pinned: ['/run/x/v2']})
    expect(facts[0]!.btfId).toBe(1323)
  })

  it('reports errors and malformed entries', () => {
    expect(parseBpftoolMapShow('{"error":"can\'t get next map: Operation not permitted"}').problems[0]!.message).toBe("bpftool error: can't get next map: Operation not permitted")
    expect(parseBpftoolMapShow('').problems[0]!.message).toBe('empty output')
    expect(parseBpftoolMapShow('[{"id":1').problems[0]!.message).toMatch(/^not valid JSON/)
    const bad = parseBpftoolMapShow('[{"id":7,"type":"hash","name":"x"},{"id":8,"type":33,"name":"y","bytes_key":4,"bytes_value":4}]')
    expect(bad.problems.map((p) => p.message)).toEqual(['map entry lacks id, type, bytes_key or bytes_value'])
    expect(bad.facts).toEqual([{id: 8, type: '33', name: 'y', keySize: 4, valueSize: 4, maxEntries: 0, flags: 0}])
  })
})

describe('mapNameIs: the kernel keeps 15 characters of a map name', () => {
  it('matches a whole name, or a 15-character cut of a longer one, nothing else', () => {
    expect(mapNameIs('cilium_lxc', 'cilium_lxc')).toBe(true)
    expect(mapNameIs('cilium_call_pol', 'cilium_call_policy')).toBe(true)
    expect(mapNameIs('cilium_call_po', 'cilium_call_policy')).toBe(false)
    expect(mapNameIs('cilium_lx', 'cilium_lxc')).toBe(false)
  })
})
