// bpftool's map commands: `bpftool -j map show` as bpftool 7.1 prints it (the dumps are decoded by the datapaths' layouts: test/datapaths/).
import {describe, expect, it} from 'vitest'
import {mapNameIs, parseBpftoolMapShow} from '../../src/probes/bpftool-map.js'

describe('bpftool -j map show', () => {
  // As bpftool 7.1 printed them on this kernel (names cut to 15 characters by the kernel).
  const text = JSON.stringify([
    {id: 98, type: 'array', name: 'nit_vals', flags: 0, bytes_key: 4, bytes_value: 168, max_entries: 1, bytes_memlock: 480, frozen: 0, btf_id: 1323},
    {id: 102, type: 'lpm_trie', name: 'cilium_ipcache', flags: 1, bytes_key: 24, bytes_value: 12, max_entries: 512000, bytes_memlock: 0, frozen: 0},
    {id: 103, type: 'prog_array', name: 'cilium_call_pol', flags: 0, bytes_key: 4, bytes_value: 4, max_entries: 65535, bytes_memlock: 524592, owner_prog_type: 'sched_cls', owner_jited: true, frozen: 0},
    {id: 104, type: 'lpm_trie', name: 'cilium_ipcache_', flags: 1, bytes_key: 24, bytes_value: 24, max_entries: 100, bytes_memlock: 0, frozen: 0, pinned: ['/run/x/v2']},
    {id: 141, type: 'hash', name: 'cilium_tunnel_m', flags: 1, bytes_key: 20, bytes_value: 20, max_entries: 65536, bytes_memlock: 1049576, frozen: 0},
  ])

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
