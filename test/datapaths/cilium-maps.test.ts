// Cilium's maps through bpftool (src/datapaths/cilium/, probes/bpftool-map.ts, collect/datapath-facts.ts): map show, the choice among maps of one name, and the four dump decoders on
// raw (no BTF: Cilium 1.12) and BTF-formatted dumps. Inputs are derived from the real captures of
// testdata/fixtures/cilium/ and docs/scenario.md#cilium-maps; testdata/cilium-maps/README.md says how each file was made.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {collectDatapathFacts} from '../../src/state/datapath-facts.js'
import type {CiliumFacts} from '../../src/datapaths/cilium/facts.js'
import {parseCiliumIpcacheDump, type CiliumIpcacheEntry} from '../../src/datapaths/cilium/ipcache.js'
import {lookupIpcache} from '../../src/datapaths/cilium/ipcache-lookup.js'
import {parseCiliumLxcDump, type CiliumEndpoint} from '../../src/datapaths/cilium/lxc.js'
import {selectCiliumMaps} from '../../src/datapaths/cilium/map-choice.js'
import {ciliumMapNameOf, type CiliumMapName} from '../../src/datapaths/cilium/map-names.js'
import {ciliumPlugin} from '../../src/datapaths/cilium/plugin.js'
import {parseCiliumTunnelDump} from '../../src/datapaths/cilium/tunnel-map.js'
import type {BpfMapInfo} from '../../src/model/bpf-map.js'
import type {BpfProgram} from '../../src/model/hooks.js'
import {BPFTOOL_MAP_SHOW_ARGV, bpftoolMapDumpArgv, parseBpftoolMapShow, parseProgArrayDump} from '../../src/probes/bpftool-map.js'
import {ipToBytes} from '../../src/util/ip.js'
import {loadSnapshot, SnapshotSource} from '../../src/source/snapshot.js'
import {runKey, type RawOutput, type RunRequest, type Source} from '../../src/source/types.js'
import type {Warning} from '../../src/model/warning.js'
import {MAP_SHOW_7_1} from '../helpers/bpftool-map-show.js'

const DATA = new URL('../../testdata/cilium-maps/', import.meta.url)
const FIXTURES = new URL('../../testdata/fixtures/cilium/', import.meta.url)
const read = (name: string) => readFileSync(new URL(name, DATA), 'utf8')
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8')

/** bpftool's raw byte array for a Buffer: ["0x0a", …]. */
const hex = (b: number[]) => b.map((x) => `0x${x.toString(16).padStart(2, '0')}`)
/** The same dump without its BTF part (what bpftool prints for a map without BTF). */
const rawOnly = (text: string) => JSON.stringify((JSON.parse(text) as Array<Record<string, unknown>>).map(({key, value}) => ({key, value})))
/** The same dump with only the BTF part (raw bytes removed). */
const formattedOnly = (text: string) => JSON.stringify((JSON.parse(text) as Array<{formatted: unknown}>).map(({formatted}) => ({formatted})))

/** `cilium map get cilium_ipcache(_v2)` lines as the facts the decoder must give. */
function ipcacheFromCiliumText(text: string, layout: 'v1' | 'v2'): CiliumIpcacheEntry[] {
  const out: CiliumIpcacheEntry[] = []
  for (const line of text.split('\n')) {
    // 1.18: `172.20.0.11/32 identity=472 encryptkey=0 tunnelendpoint=192.168.10.100 flags=hastunnel sync`;
    // 2019: `10.50.127.5/32     23488 0 10.50.8.52   sync`.
    const m = /^(\S+)\/(\d+)\s+(?:identity=)?(\d+) (?:encryptkey=)?(\d+) (?:tunnelendpoint=)?(\S+)(?: flags=(\S+))?/.exec(line)
    if (!m) continue
    const e: CiliumIpcacheEntry = {prefix: `${m[1]}/${m[2]}`, family: 'ipv4', address: m[1]!, prefixLen: Number(m[2]), identity: Number(m[3]), encryptKey: Number(m[4]), layout}
    if (m[5] !== '0.0.0.0') e.tunnelEndpoint = m[5]
    if (m[6] !== undefined) e.flags = m[6] === '<none>' ? [] : (m[6].split(',') as CiliumIpcacheEntry['flags'])
    out.push(e)
  }
  return out
}

/** `cilium bpf endpoint list` / `cilium map get cilium_lxc` lines as facts. */
function endpointsFromCiliumText(text: string): CiliumEndpoint[] {
  const out: CiliumEndpoint[] = []
  for (const line of text.split('\n')) {
    const host = /^(\S+):(\d+)\s+\(localhost\)/.exec(line)
    const m = /^(\S+):(\d+)\s+id=(\d+)\s+flags=(\S+)\s+ifindex=(\d+)\s+mac=(\S+)\s+nodemac=(\S+)/.exec(line)
    if (host) out.push({ip: host[1]!, family: 'ipv4', keyIndex: Number(host[2]), endpointId: 0, ifindex: 0, mac: '00:00:00:00:00:00', nodeMac: '00:00:00:00:00:00', flags: 1, isHost: true})
    else if (m) out.push({ip: m[1]!, family: 'ipv4', keyIndex: Number(m[2]), endpointId: Number(m[3]), ifindex: Number(m[5]), mac: m[6]!.toLowerCase(), nodeMac: m[7]!.toLowerCase(), flags: Number(m[4]), isHost: false})
  }
  return out
}

const byPrefix = (a: {prefix: string}, b: {prefix: string}) => a.prefix.localeCompare(b.prefix)
const byIp = (a: {ip: string}, b: {ip: string}) => a.ip.localeCompare(b.ip)

describe('Cilium map names in bpftool -j map show', () => {
  const text = MAP_SHOW_7_1

  it('knows Cilium maps by their full or 15-character names, or a pin', () => {
    const names = parseBpftoolMapShow(text).facts.map((m) => ciliumMapNameOf(m) ?? null)
    expect(names).toEqual([null, 'cilium_ipcache', 'cilium_call_policy', 'cilium_ipcache_v2', 'cilium_tunnel_map'])
    expect(ciliumMapNameOf({name: 'cilium_ipcache_v2'})).toBe('cilium_ipcache_v2')
    expect(ciliumMapNameOf({name: 'cilium_lxc'})).toBe('cilium_lxc')
    expect(ciliumMapNameOf({name: 'cilium_lx'})).toBeUndefined()
    expect(ciliumMapNameOf({name: 'cilium_calls_00'})).toBeUndefined()
    expect(ciliumMapNameOf({name: '', pinned: ['/sys/fs/bpf/tc/globals/cilium_lxc']})).toBe('cilium_lxc')
  })
})

describe('choosing among maps of one name (maps are global, not per netns)', () => {
  const map = (id: number, name: string, type = 'hash'): BpfMapInfo => ({id, type, name, keySize: 20, valueSize: 48, maxEntries: 65535, flags: 1})
  const prog = (id: number, mapIds: number[]): BpfProgram => ({id, type: 'sched_cls', mapIds})

  it('takes the map the programs attached here use, even when another is newer', () => {
    const maps = [map(10, 'cilium_lxc'), map(20, 'cilium_lxc'), map(30, 'cilium_lxc')]
    const [c] = selectCiliumMaps(maps, [prog(1, [10]), prog(2, [20])], [1])
    expect(c).toMatchObject({name: 'cilium_lxc', reason: 'attached', candidateIds: [10, 20, 30], usedByProgIds: [1]})
    expect(c!.map.id).toBe(10)
    expect(c!.note).toBeUndefined()
  })

  it('follows the cilium_calls array of an attached program to its tail calls', () => {
    // Entry program 1 holds only its calls array (like SCENARIO's 2901: map_ids 572,86); tail call 5 shares it.
    const maps = [map(10, 'cilium_ipcache', 'lpm_trie'), map(11, 'cilium_ipcache', 'lpm_trie'), map(572, 'cilium_calls_00', 'prog_array'), map(86, 'cilium_events')]
    const [c] = selectCiliumMaps(maps, [prog(1, [572, 86]), prog(5, [572, 10]), prog(9, [11])], [1])
    expect(c).toMatchObject({reason: 'tail-call-family', usedByProgIds: [5]})
    expect(c!.map.id).toBe(10)
    expect(c!.note).toBe('2 maps named cilium_ipcache (10, 11): read 10, used by programs sharing a cilium_calls array with the attached ones')
  })

  it('falls back to the newest id and says so', () => {
    const [c] = selectCiliumMaps([map(40, 'cilium_lxc'), map(12, 'cilium_lxc')], [prog(3, [12])], [7])
    expect(c).toMatchObject({reason: 'newest', candidateIds: [12, 40]})
    expect(c!.map.id).toBe(40)
    expect(c!.note).toBe('2 maps named cilium_lxc (12, 40) and none is used by a program attached here: read the newest, 40')
  })

  it('notes a single map that no attached program uses, and picks the newest of several used ones', () => {
    expect(selectCiliumMaps([map(5, 'cilium_lxc')], [], [1])[0]).toMatchObject({reason: 'only-one', note: 'cilium_lxc (map 5) is not in the map_ids of the programs attached here nor of their tail-call family'})
    expect(selectCiliumMaps([map(5, 'cilium_lxc')], [], [])[0]!.note).toBeUndefined()
    const c = selectCiliumMaps([map(5, 'cilium_lxc'), map(6, 'cilium_lxc')], [prog(1, [5, 6])], [1])[0]!
    expect([c.reason, c.map.id, c.note]).toEqual(['attached', 6, '2 maps named cilium_lxc (5, 6) are used by programs attached here: read the newest, 6'])
  })
})

describe('cilium_ipcache, raw bytes (Cilium 1.12: no BTF)', () => {
  // SCENARIO node 1: `10.42.0.51/32 identity=15773 encryptkey=0 tunnelendpoint=192.168.1.13`.
  // key: prefixlen 32 static bits + 32 = 64 (LE), pad1 u16, pad2 u8, family 1, 10.42.0.51, 12 zero bytes.
  const key = [0x40, 0, 0, 0, 0, 0, 0, 0x01, 10, 42, 0, 51, ...Array<number>(12).fill(0)]
  // value: identity 15773 = 0x3d9d (LE), tunnel endpoint 192.168.1.13, key 0, padding.
  const value = [0x9d, 0x3d, 0, 0, 192, 168, 1, 13, 0, 0, 0, 0]
  const scenario: CiliumIpcacheEntry = {prefix: '10.42.0.51/32', family: 'ipv4', address: '10.42.0.51', prefixLen: 32, identity: 15773, tunnelEndpoint: '192.168.1.13', encryptKey: 0, layout: 'v1'}

  it("decodes SCENARIO's node-1 entry from hand-built bytes", () => {
    const dump = JSON.stringify([{key: hex(key), value: hex(value)}])
    expect(parseCiliumIpcacheDump(dump, {name: 'cilium_ipcache', keySize: 24, valueSize: 12, id: 7})).toEqual({facts: [scenario], problems: []})
  })

  it('decodes a bpftool 7.1 dump of a map without BTF: SCENARIO plus the 2019 capture, as Cilium prints them', () => {
    const {facts, problems} = parseCiliumIpcacheDump(read('bpftool-7.1_nobtf_cilium_ipcache.json'), {name: 'cilium_ipcache', keySize: 24, valueSize: 12})
    expect(problems).toEqual([])
    const want = [scenario, ...ipcacheFromCiliumText(fixture('arthurchiao-2019-map-get-cilium-ipcache.txt'), 'v1')]
    expect([...facts].sort(byPrefix)).toEqual(want.sort(byPrefix))
  })

  it("bytes 8-11: a key at byte 10 with flags at 11, a 1.14 node id, and the ambiguous lone byte 8", () => {
    const one = (tail: number[]) => parseCiliumIpcacheDump(JSON.stringify([{key: hex(key), value: hex([...value.slice(0, 8), ...tail])}]))
    expect(one([0, 0, 3, 2]).facts[0]).toMatchObject({encryptKey: 3, flags: ['hastunnel']})
    expect(one([0, 0, 3, 2]).problems).toEqual([])
    expect(one([7, 1, 3, 0]).facts[0]).toMatchObject({nodeId: 263, encryptKey: 3})
    expect(one([7, 1, 3, 0]).facts[0]!.flags).toBeUndefined()
    const amb = one([5, 0, 0, 0])
    expect(amb.facts[0]!.encryptKey).toBeUndefined()
    expect(amb.facts[0]).toMatchObject({identity: 15773, tunnelEndpoint: '192.168.1.13'})
    expect(amb.problems.map((p) => p.message)).toEqual(['10.42.0.51/32: byte 8 is 5: the IPsec key in Cilium <= 1.12, the node id in 1.14; the key is left out'])
  })
})

describe('cilium_ipcache_v2 and the BTF forms (Cilium 1.18, kwx capture)', () => {
  const kwx = ipcacheFromCiliumText(fixture('kwx-cilium-1.18-map-get-cilium_ipcache_v2.txt'), 'v2')
  const v2 = {name: 'cilium_ipcache_v2', keySize: 24, valueSize: 24}

  it('raw bytes give exactly the 21 rows cilium-dbg printed', () => {
    const {facts, problems} = parseCiliumIpcacheDump(rawOnly(read('bpftool-7.1_btf_cilium_ipcache_v2.json')), v2)
    expect(problems).toEqual([])
    expect(kwx).toHaveLength(21)
    expect([...facts].sort(byPrefix)).toEqual([...kwx].sort(byPrefix))
  })

  it('the formatted objects alone, the -j dump and the plain (bare 0x bitfields) dump give the same', () => {
    const raw = parseCiliumIpcacheDump(read('bpftool-7.1_btf_cilium_ipcache_v2.json'), v2)
    const fmt = parseCiliumIpcacheDump(formattedOnly(read('bpftool-7.1_btf_cilium_ipcache_v2.json')))
    const plain = parseCiliumIpcacheDump(read('bpftool-7.1_btf-plain_cilium_ipcache_v2.json'))
    expect(fmt).toEqual(raw)
    expect(plain).toEqual(raw)
  })

  it('the v1 value with flags (as Cilium >= 1.18 reads an old cilium_ipcache), raw and formatted', () => {
    const raw = parseCiliumIpcacheDump(read('bpftool-7.1_btf_cilium_ipcache-v1.json'))
    expect(raw.problems).toEqual([])
    expect([...raw.facts].sort(byPrefix)).toEqual([
      {prefix: '0.0.0.0/0', family: 'ipv4', address: '0.0.0.0', prefixLen: 0, identity: 2, encryptKey: 0, layout: 'v1'},
      {prefix: '10.42.0.51/32', family: 'ipv4', address: '10.42.0.51', prefixLen: 32, identity: 15773, tunnelEndpoint: '192.168.1.13', encryptKey: 0, flags: ['hastunnel'], layout: 'v1'},
      {prefix: '10.42.1.80/32', family: 'ipv4', address: '10.42.1.80', prefixLen: 32, identity: 22018, encryptKey: 0, layout: 'v1'},
    ])
    // Formatted objects carry every flag field, zero or not: the flags list is then always present.
    const fmt = parseCiliumIpcacheDump(read('bpftool-7.1_btf-plain_cilium_ipcache-v1.json'))
    expect(fmt.problems).toEqual([])
    expect(fmt.facts.map((e) => [e.prefix, e.identity, e.tunnelEndpoint, e.encryptKey, e.flags])).toEqual(raw.facts.map((e) => [e.prefix, e.identity, e.tunnelEndpoint, e.encryptKey, e.flags ?? []]))
  })

  it('IPv6 keys and tunnel endpoints, cluster ids', () => {
    const k6 = [32 + 64, 0, 0, 0, 0, 0, 0, 2, 0xfd, 0, 0x10, 0x42, 0, 0, 0, 1, ...Array<number>(8).fill(0)]
    const tep6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x13]
    const v = [0x9d, 0x3d, 0, 0, ...tep6, 0, 0, 1, 2 | 4]
    const k4 = [32 + 24, 0, 0, 0, 7, 0, 0, 1, 10, 9, 0, 0, ...Array<number>(12).fill(0)]
    const {facts, problems} = parseCiliumIpcacheDump(JSON.stringify([{key: hex(k6), value: hex(v)}, {key: hex(k4), value: hex([2, 0, 0, 0, ...Array<number>(20).fill(0)])}]), v2)
    expect(problems).toEqual([])
    expect(facts).toEqual([
      {prefix: 'fd00:1042:0:1::/64', family: 'ipv6', address: 'fd00:1042:0:1::', prefixLen: 64, identity: 15773, tunnelEndpoint: 'fd00::13', encryptKey: 1, flags: ['hastunnel', 'ipv6tunnel'], layout: 'v2'},
      {prefix: '10.9.0.0/24', family: 'ipv4', address: '10.9.0.0', prefixLen: 24, clusterId: 7, identity: 2, encryptKey: 0, flags: [], layout: 'v2'},
    ])
  })
})

describe('lookupIpcache: longest-prefix match', () => {
  const entries = ipcacheFromCiliumText(fixture('kwx-cilium-1.18-map-get-cilium_ipcache_v2.txt'), 'v2')
  const six: CiliumIpcacheEntry[] = [
    {prefix: 'fd00::/8', family: 'ipv6', address: 'fd00::', prefixLen: 8, identity: 2, encryptKey: 0, layout: 'v2'},
    {prefix: 'fd00:10:244:1::/64', family: 'ipv6', address: 'fd00:10:244:1::', prefixLen: 64, identity: 6, tunnelEndpoint: '192.168.20.100', encryptKey: 0, layout: 'v2'},
    {prefix: 'fd00:10:244:1::5/128', family: 'ipv6', address: 'fd00:10:244:1::5', prefixLen: 128, identity: 4242, encryptKey: 0, layout: 'v2'},
  ]

  it('prefers /32 over the pod CIDR over the world /0', () => {
    expect(lookupIpcache(entries, '172.20.0.11')?.prefix).toBe('172.20.0.11/32')
    expect(lookupIpcache(entries, '172.20.0.99')).toMatchObject({prefix: '172.20.0.0/24', identity: 2, tunnelEndpoint: '192.168.10.100'})
    expect(lookupIpcache(entries, '8.8.8.8')?.prefix).toBe('0.0.0.0/0')
    expect(lookupIpcache(entries.filter((e) => e.prefixLen > 0), '8.8.8.8')).toBeUndefined()
  })

  it('IPv6, odd prefix lengths, no cross-family or cross-cluster matches, bad input', () => {
    expect(lookupIpcache(six, 'fd00:10:244:1::5')?.prefixLen).toBe(128)
    expect(lookupIpcache(six, 'fd00:10:244:1:0:0:0:6')?.prefixLen).toBe(64)
    expect(lookupIpcache(six, 'fdff::1')?.prefixLen).toBe(8)
    expect(lookupIpcache(six, 'fe80::1')).toBeUndefined()
    expect(lookupIpcache(six, '172.20.0.11')).toBeUndefined()
    expect(lookupIpcache([{...entries[0]!, clusterId: 3}], '172.20.0.11')).toBeUndefined()
    expect(lookupIpcache([{...entries[0]!, clusterId: 3}], '172.20.0.11', 3)?.prefix).toBe('172.20.0.11/32')
    const odd: CiliumIpcacheEntry = {prefix: '10.0.0.0/9', family: 'ipv4', address: '10.0.0.0', prefixLen: 9, identity: 9, encryptKey: 0, layout: 'v1'}
    expect(lookupIpcache([odd], '10.127.255.255')).toBe(odd)
    expect(lookupIpcache([odd], '10.128.0.0')).toBeUndefined()
    expect(lookupIpcache(entries, 'not-an-ip')).toBeUndefined()
  })

  it('parses addresses', () => {
    expect(ipToBytes('::ffff:10.1.2.3')?.bytes.toString('hex')).toBe('00000000000000000000ffff0a010203')
    expect(ipToBytes('1:2:3:4:5:6:7:8')?.family).toBe('ipv6')
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3', '256.1.1.1', '::g', ':::']) expect(ipToBytes(bad), bad).toBeUndefined()
  })
})

describe('cilium_lxc', () => {
  const scenarioLine = '10.42.0.51:0 id=2826 flags=0x0000 ifindex=29 mac=96:86:44:A6:37:EC nodemac=D2:AD:65:4D:D0:7B'

  it("decodes SCENARIO's node-2 endpoint from hand-built bytes", () => {
    const key = [10, 42, 0, 51, ...Array<number>(12).fill(0), 1, 0, 0, 0]
    // ifindex 29, unused, lxc_id 2826 = 0x0b0a, flags 0, hole, mac, pad, node_mac, pad, 16 bytes more.
    const value = [29, 0, 0, 0, 0, 0, 0x0a, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0x96, 0x86, 0x44, 0xa6, 0x37, 0xec, 0, 0, 0xd2, 0xad, 0x65, 0x4d, 0xd0, 0x7b, 0, 0, ...Array<number>(16).fill(0)]
    expect(parseCiliumLxcDump(JSON.stringify([{key: hex(key), value: hex(value)}]), {name: 'cilium_lxc', keySize: 20, valueSize: 48})).toEqual({
      facts: [{ip: '10.42.0.51', family: 'ipv4', keyIndex: 0, endpointId: 2826, ifindex: 29, mac: '96:86:44:a6:37:ec', nodeMac: 'd2:ad:65:4d:d0:7b', flags: 0, isHost: false}],
      problems: [],
    })
  })

  it('raw dump (no BTF): SCENARIO plus the minikube capture, localhost entries included', () => {
    const {facts, problems} = parseCiliumLxcDump(read('bpftool-7.1_nobtf_cilium_lxc.json'))
    expect(problems).toEqual([])
    const want = endpointsFromCiliumText(`${scenarioLine}\n${fixture('minikube-cilium-1.9-bpf-endpoint-list.txt')}`)
    expect(want).toHaveLength(13)
    expect([...facts].sort(byIp)).toEqual(want.sort(byIp))
  })

  it('BTF: -j, formatted alone and plain give the same endpoints as raw', () => {
    const raw = parseCiliumLxcDump(rawOnly(read('bpftool-7.1_btf_cilium_lxc.json')))
    expect(raw.problems).toEqual([])
    expect(raw.facts).toHaveLength(13)
    expect(parseCiliumLxcDump(formattedOnly(read('bpftool-7.1_btf_cilium_lxc.json')))).toEqual(raw)
    expect(parseCiliumLxcDump(read('bpftool-7.1_btf-plain_cilium_lxc.json'))).toEqual(raw)
  })
})

describe('cilium_tunnel_map and cilium_call_policy', () => {
  it('tunnel map, 1.12 endpoint_key layout without BTF', () => {
    expect(parseCiliumTunnelDump(read('bpftool-7.1_nobtf_cilium_tunnel_map.json'), {name: 'cilium_tunnel_map', keySize: 20, valueSize: 20})).toEqual({
      facts: [{ip: '10.42.0.0', family: 'ipv4', tunnelEndpoint: '192.168.1.13', encryptKey: 0}],
      problems: [],
    })
  })

  it('tunnel map, tunnel_key/tunnel_value with BTF: raw, formatted and plain agree', () => {
    const raw = parseCiliumTunnelDump(rawOnly(read('bpftool-7.1_btf_cilium_tunnel_map.json')))
    expect([...raw.facts].sort(byIp)).toEqual([
      {ip: '10.42.0.0', family: 'ipv4', tunnelEndpoint: '192.168.1.13', encryptKey: 0},
      {ip: '10.42.2.0', family: 'ipv4', tunnelEndpoint: '192.168.1.14', encryptKey: 3, nodeId: 7},
    ])
    expect(parseCiliumTunnelDump(formattedOnly(read('bpftool-7.1_btf_cilium_tunnel_map.json')))).toEqual(raw)
    expect(parseCiliumTunnelDump(read('bpftool-7.1_btf-plain_cilium_tunnel_map.json'))).toEqual(raw)
  })

  it('policy prog array: endpoint id -> program id', () => {
    expect(parseProgArrayDump(read('bpftool-7.1_nobtf_cilium_call_policy.json'), {name: 'cilium_call_policy', keySize: 4, valueSize: 4})).toEqual({
      facts: [
        {key: 1414, progId: 1518},
        {key: 2826, progId: 1356},
      ],
      problems: [],
    })
    expect(parseProgArrayDump('[]').facts).toEqual([])
  })
})

describe('bad input: a problem each, never a throw, never a guess', () => {
  const k = hex([0x40, 0, 0, 0, 0, 0, 0, 1, 10, 42, 0, 51, ...Array<number>(12).fill(0)])
  const v = hex([1, 0, 0, 0, 192, 168, 1, 13, 0, 0, 0, 0])
  const ipc = (entries: unknown, map?: {name: string; keySize: number; valueSize: number}) => parseCiliumIpcacheDump(typeof entries === 'string' ? entries : JSON.stringify(entries), map)
  const cases: Array<[string, () => {facts: unknown[]; problems: Array<{message: string}>}, RegExp]> = [
    ['empty output', () => ipc(''), /^empty output$/],
    ['truncated JSON', () => ipc('[{"key":["0x40"'), /^not valid JSON/],
    ['bpftool error object', () => ipc({error: 'get map by id (999999): No such file or directory'}), /^bpftool error: get map by id \(999999\)/],
    ['an entry bpftool could not read', () => ipc([{key: k, value: {error: "can't lookup element"}}]), /could not read an entry: can't lookup element/],
    ['neither raw nor formatted', () => ipc([{key: 'x'}]), /neither raw key\/value bytes nor formatted/],
    ['not hex', () => ipc([{key: ['0xzz'], value: v}]), /neither raw key\/value bytes nor formatted/],
    ['ipcache key of 20 bytes', () => ipc([{key: k.slice(0, 20), value: v}]), /ipcache key of 20 bytes: no known layout/],
    ['ipcache value of 16 bytes', () => ipc([{key: k, value: [...v, ...v].slice(0, 16)}]), /ipcache value of 16 bytes: no known layout/],
    ['v2 name with 12-byte values', () => ipc([{key: k, value: v}], {name: 'cilium_ipcache_', keySize: 24, valueSize: 12}), /cilium_ipcache_v2 with 12-byte values: no known layout/],
    ['unknown family', () => ipc([{key: [...k.slice(0, 7), '0x0a', ...k.slice(8)], value: v}]), /unknown family 10/],
    ['prefixlen below the 32 static bits', () => ipc([{key: ['0x10', ...k.slice(1)], value: v}]), /prefixlen 16 is out of range/],
    ['cluster id in two places', () => ipc([{key: [...k.slice(0, 4), '0x01', '0x00', '0x02', ...k.slice(7)], value: v}]), /bytes 4-6 \(010002\) fit no known layout/],
    ['unknown flag bits', () => ipc([{key: k, value: [...v.slice(0, 11), '0x30']}]), /unknown ipcache flag bits 0x30/],
    ['lxc value of 112 bytes (pre-1.6 PortMap layout)', () => parseCiliumLxcDump(JSON.stringify([{key: hex(Array<number>(20).fill(0)), value: hex(Array<number>(112).fill(0))}])), /cilium_lxc value of 112 bytes: no known layout/],
    ['lxc key family 0', () => parseCiliumLxcDump(JSON.stringify([{key: hex(Array<number>(20).fill(0)), value: hex(Array<number>(48).fill(0))}])), /cilium_lxc key with unknown family 0/],
    ['tunnel map of another size', () => parseCiliumTunnelDump('[]', {name: 'cilium_tunnel_map', keySize: 20, valueSize: 24}), /value of 24 bytes: no known layout/],
    ['prog array of 8-byte keys', () => parseProgArrayDump(JSON.stringify([{key: hex([1, 0, 0, 0, 0, 0, 0, 0]), value: hex([1, 0, 0, 0])}])), /key of 8 bytes: no known layout/],
    ['plain-text bpftool dump', () => parseProgArrayDump('key: 0a 0b 00 00  value: 4c 05 00 00\nFound 1 element\n'), /^not valid JSON/],
  ]
  for (const [name, run, re] of cases) {
    it(name, () => {
      const r = run()
      expect(r.problems.map((p) => p.message).join(' | ')).toMatch(re)
    })
  }
})

/** A Source answering from a table of outputs, counting the processes it was asked to run. */
class TableSource implements Source {
  readonly meta = {kind: 'snapshot' as const}
  readonly asked: string[] = []
  constructor(private readonly table: Map<string, Partial<RawOutput>>) {}
  async run(req: RunRequest): Promise<RawOutput> {
    this.asked.push(req.argv.join(' '))
    const o = this.table.get(runKey(req.argv))
    return {argv: [...req.argv], stdout: '', stderr: '', exitCode: o ? 0 : null, durationMs: 0, ...(o ?? {failure: 'not-recorded', message: `${req.argv.join(' ')}: not recorded`})}
  }
}

/** Cilium's facts as the node's collector reads them: the generic map reader with only the Cilium plugin. */
async function collectCiliumMaps(src: Source, opts: {attachedProgIds?: readonly number[]; maps?: readonly CiliumMapName[]} = {}): Promise<CiliumFacts & {warnings: Warning[]}> {
  const {facts, warnings} = await collectDatapathFacts(src, {...(opts.attachedProgIds ? {attachedProgIds: opts.attachedProgIds} : {}), plugins: [ciliumPlugin(opts.maps ? {maps: opts.maps} : {})]})
  return {...(facts.cilium as CiliumFacts), warnings}
}

describe('collectCiliumMaps', () => {
  const mapShow = [
    {id: 10, type: 'lpm_trie', name: 'cilium_ipcache', flags: 1, bytes_key: 24, bytes_value: 12, max_entries: 512000},
    {id: 11, type: 'lpm_trie', name: 'cilium_ipcache', flags: 1, bytes_key: 24, bytes_value: 12, max_entries: 512000},
    {id: 12, type: 'hash', name: 'cilium_lxc', flags: 1, bytes_key: 20, bytes_value: 48, max_entries: 65535},
    {id: 13, type: 'prog_array', name: 'cilium_call_pol', flags: 0, bytes_key: 4, bytes_value: 4, max_entries: 65535},
    {id: 14, type: 'hash', name: 'cilium_tunnel_m', flags: 1, bytes_key: 20, bytes_value: 20, max_entries: 65536},
    {id: 15, type: 'hash', name: 'other', flags: 0, bytes_key: 4, bytes_value: 4, max_entries: 1},
  ]
  const progs = [
    {id: 100, type: 'sched_cls', name: 'from_overlay', map_ids: [12, 13]},
    {id: 101, type: 'sched_cls', name: 'handle_xgress', map_ids: [10, 14]},
    {id: 200, type: 'sched_cls', name: 'handle_xgress', map_ids: [11]},
  ]
  const table = (extra: Array<[string[], Partial<RawOutput>]> = []) =>
    new Map<string, Partial<RawOutput>>([
      [runKey(BPFTOOL_MAP_SHOW_ARGV), {stdout: JSON.stringify(mapShow)}],
      [runKey(['bpftool', '-j', 'prog', 'show']), {stdout: JSON.stringify(progs)}],
      [runKey(['bpftool', '-j', 'net', 'show']), {stdout: JSON.stringify([{xdp: [], tc: [{devname: 'cilium_vxlan', ifindex: 5, kind: 'clsact/ingress', name: 'bpf_overlay.o:[from-overlay]', id: 100}, {devname: 'lxc1', ifindex: 43, kind: 'clsact/ingress', name: 'bpf_lxc.o:[from-container]', id: 101}]}])}],
      [runKey(bpftoolMapDumpArgv(10)), {stdout: read('bpftool-7.1_nobtf_cilium_ipcache.json')}],
      [runKey(bpftoolMapDumpArgv(12)), {stdout: read('bpftool-7.1_nobtf_cilium_lxc.json')}],
      [runKey(bpftoolMapDumpArgv(13)), {stdout: read('bpftool-7.1_nobtf_cilium_call_policy.json')}],
      [runKey(bpftoolMapDumpArgv(14)), {stdout: read('bpftool-7.1_nobtf_cilium_tunnel_map.json')}],
      ...extra.map(([argv, o]) => [runKey(argv), o] as [string, Partial<RawOutput>]),
    ])

  it("runs 3 + one dump per name, and reads this netns' ipcache rather than the newer one", async () => {
    const src = new TableSource(table())
    const r = await collectCiliumMaps(src)
    expect(src.asked).toEqual(['bpftool -j map show', 'bpftool -j prog show', 'bpftool -j net show', 'bpftool -j map dump id 10', 'bpftool -j map dump id 12', 'bpftool -j map dump id 14', 'bpftool -j map dump id 13'])
    expect(r.selected.map((c) => `${c.name}=${c.map.id} ${c.reason}`)).toEqual(['cilium_ipcache=10 attached', 'cilium_lxc=12 only-one', 'cilium_tunnel_map=14 only-one', 'cilium_call_policy=13 only-one'])
    expect(r.attachedProgIds).toEqual([100, 101])
    expect(r.ipcacheMap).toBe('cilium_ipcache')
    expect(lookupIpcache(r.ipcache, '10.42.0.51')).toMatchObject({identity: 15773, tunnelEndpoint: '192.168.1.13'})
    expect(r.endpoints.find((e) => e.ip === '10.42.0.51')).toMatchObject({endpointId: 2826, ifindex: 29})
    expect(r.policyCalls.find((c) => c.key === 2826)?.progId).toBe(1356)
    expect(r.tunnels).toHaveLength(1)
    expect(r.found.map((m) => m.id)).toEqual([10, 11, 12, 13, 14])
    expect([r.warnings, r.notes]).toEqual([[], []])
  })

  it('reads the ipcache the programs here use when both cilium_ipcache and a stray cilium_ipcache_v2 exist', async () => {
    const v2 = {id: 50, type: 'lpm_trie', name: 'cilium_ipcache_', flags: 1, bytes_key: 24, bytes_value: 24, max_entries: 512000}
    const t = table([
      [BPFTOOL_MAP_SHOW_ARGV as unknown as string[], {stdout: JSON.stringify([...mapShow, v2])}],
      [bpftoolMapDumpArgv(50), {stdout: read('bpftool-7.1_btf_cilium_ipcache_v2.json')}],
    ])
    const r = await collectCiliumMaps(new TableSource(t))
    expect(r.selected.slice(0, 2).map((c) => [c.name, c.map.id, c.evidence])).toEqual([
      ['cilium_ipcache_v2', 50, 'none'],
      ['cilium_ipcache', 10, 'attached'],
    ])
    expect(r.ipcacheMap).toBe('cilium_ipcache')
    expect(lookupIpcache(r.ipcache, '10.42.0.51')?.identity).toBe(15773)
    expect(r.notes).toContain('both cilium_ipcache (map 10) and cilium_ipcache_v2 (map 50) exist: read cilium_ipcache, the one the programs here use')
    // With no attached program to tell, the v2 map (Cilium >= 1.18) is the one read.
    const blind = await collectCiliumMaps(new TableSource(t), {attachedProgIds: []})
    expect(blind.ipcacheMap).toBe('cilium_ipcache_v2')
    expect(blind.ipcache).toHaveLength(21)
  })

  it('takes attached program ids from the caller (then no bpftool net show), and can read a subset', async () => {
    const src = new TableSource(table())
    const r = await collectCiliumMaps(src, {attachedProgIds: [200], maps: ['cilium_ipcache']})
    expect(src.asked).toEqual(['bpftool -j map show', 'bpftool -j prog show', 'bpftool -j map dump id 11'])
    expect(r.selected.map((c) => [c.map.id, c.reason])).toEqual([[11, 'attached']])
    expect(r.warnings).toEqual([{probe: 'bpftool -j map dump id 11', kind: 'not-recorded', message: 'bpftool -j map dump id 11: not recorded'}])
    expect(r.ipcache).toEqual([])
  })

  it('degrades: a failed map show is a warning; failed dumps and bad output become warnings, the rest still comes', async () => {
    const failing = new TableSource(new Map([[runKey(BPFTOOL_MAP_SHOW_ARGV), {exitCode: 255, failure: 'permission' as const, message: 'bpftool -j map show: exit 255: Operation not permitted'}]]))
    const r = await collectCiliumMaps(failing, {attachedProgIds: []})
    expect(r.warnings.map((w) => `${w.probe} ${w.kind}`)).toEqual(['bpftool -j map show permission', 'bpftool -j prog show not-recorded'])
    expect(r.selected).toEqual([])
    const bad = await collectCiliumMaps(new TableSource(table([[bpftoolMapDumpArgv(12), {stdout: '{"error":"can\'t get next key: Operation not permitted"}'}]])), {attachedProgIds: [100, 101]})
    expect(bad.warnings).toEqual([{probe: 'bpftool -j map dump id 12', kind: 'parse', message: "bpftool -j map dump id 12 (cilium_lxc): bpftool error: can't get next key: Operation not permitted"}])
    expect(bad.ipcache.length).toBeGreaterThan(0)
  })

  it('the reference snapshots (SCENARIO, Cilium 1.12): node 1 has the ipcache entry, node 2 the endpoint', async () => {
    const n1 = new SnapshotSource(await loadSnapshot(new URL('../../testdata/reference/node1.json', import.meta.url).pathname))
    const r1 = await collectCiliumMaps(n1)
    expect(r1.warnings).toEqual([])
    expect(r1.selected.map((c) => [c.name, c.reason])).toEqual([['cilium_ipcache', 'only-one']])
    expect(r1.ipcache).toEqual([{prefix: '10.42.0.51/32', family: 'ipv4', address: '10.42.0.51', prefixLen: 32, identity: 15773, tunnelEndpoint: '192.168.1.13', encryptKey: 0, layout: 'v1'}])
    // Program 2901 (from-container) holds maps 572 and 86 only: the ipcache is reached by tail calls.
    expect(r1.notes).toEqual([expect.stringMatching(/^cilium_ipcache \(map \d+\) is not in the map_ids of the programs attached here/)])
    const n2 = new SnapshotSource(await loadSnapshot(new URL('../../testdata/reference/node2.json', import.meta.url).pathname))
    const r2 = await collectCiliumMaps(n2)
    expect(r2.warnings).toEqual([])
    expect(r2.endpoints).toEqual([{ip: '10.42.0.51', family: 'ipv4', keyIndex: 0, endpointId: 2826, ifindex: 29, mac: '96:86:44:a6:37:ec', nodeMac: 'd2:ad:65:4d:d0:7b', flags: 0, isHost: false}])
    // The walkthrough never showed the to-container program of endpoint 2826: the snapshot has no cilium_call_policy.
    expect(r2.policyCalls).toEqual([])
    expect(r2.selected.map((c) => c.name)).toEqual(['cilium_lxc'])
  })
})
