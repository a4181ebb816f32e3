// Which namespaces trace reads (only the node's veth peers), and how it degrades: old snapshots, no helper, no
// CAP_SYS_ADMIN, stale entries. A fake Source answers by argv and counts what was run.
import {describe, expect, it} from 'vitest'
import {collectPeerNetns, NEEDS_CAP_SYS_ADMIN, peerNetnsNames} from '../../src/state/peer-netns.js'
import type {Device} from '../../src/model/hooks.js'
import type {Warning} from '../../src/model/warning.js'
import {runKey, type RawOutput, type RunRequest, type Source} from '../../src/source/types.js'

const veth = (name: string, netnsId?: number, extra: Partial<Device> = {}): Device => ({
  ifindex: 10 + name.length,
  name,
  kind: 'veth',
  flags: [],
  altnames: [],
  addresses: [],
  peer: netnsId === undefined ? {name: 'x', sameNetns: true} : {ifindex: 2, netnsId, sameNetns: false},
  ...extra,
})
const NODE: Device[] = [veth('lxc1', 0), veth('lxc2', 1), veth('lxc3', 0), veth('cilium_net'), veth('lxc4', 7), {...veth('vx', 2), kind: 'vxlan'}]
const NAMES = new Map([
  [0, 'cni-a'],
  [1, 'cni-b'],
  [2, 'tenant'],
])

const ok = (argv: string[], stdout: string): RawOutput => ({argv, stdout, stderr: '', exitCode: 0, durationMs: 0})
const failed = (argv: string[], failure: RawOutput['failure'], extra: Partial<RawOutput> = {}): RawOutput => ({argv, stdout: '', stderr: '', exitCode: null, failure, message: `${argv.join(' ')}: ${failure}`, durationMs: 0, ...extra})

/** Answers from a table keyed by argv (+input); anything else is not-recorded. Keeps every request. */
function fakeSource(outputs: RawOutput[]): Source & {asked: RunRequest[]} {
  const byKey = new Map(outputs.map((o) => [runKey(o.argv, o.input), o]))
  const asked: RunRequest[] = []
  return {
    meta: {kind: 'snapshot'},
    asked,
    async run(req) {
      asked.push(req)
      return byKey.get(runKey(req.argv, req.input)) ?? failed([...req.argv], 'not-recorded')
    },
  }
}

const POD_A = {netns: 'cni-a', links: [{ifindex: 2, ifname: 'eth0', link_index: 11, link_netnsid: 0, linkinfo: {info_kind: 'veth'}, addr_info: [{family: 'inet', local: '10.42.1.80', prefixlen: 32}]}], routes: [{family: 'inet', dst: 'default', gateway: '10.42.1.247', dev: 'eth0', table: 'main', type: 'unicast', flags: []}]}
const dump = (netns: unknown[], extra = {}) => JSON.stringify({helper: 'nodeinspect-bpf', version: 1, netns, ...extra})
const DUMP_ARGV = ['nodeinspect-bpf', 'netns-dump', 'cni-a', 'cni-b']

describe('peerNetnsNames', () => {
  it("names the peers of the node's own veths only: not the tenant's namespace, not unnamed nsids", () => {
    expect(peerNetnsNames(NODE, NAMES)).toEqual(['cni-a', 'cni-b'])
  })
  it('never passes on a name that could be a path', () => {
    expect(peerNetnsNames([veth('lxc1', 0)], new Map([[0, '../etc']]))).toEqual([])
    expect(peerNetnsNames([veth('lxc1', 0)], new Map([[0, '.hidden']]))).toEqual([])
  })
})

describe('collectPeerNetns', () => {
  it('one helper run for every needed namespace; the argv names them', async () => {
    const src = fakeSource([ok(DUMP_ARGV, dump([POD_A, {netns: 'cni-b', links: [], routes: []}]))])
    const w: Warning[] = []
    const r = await collectPeerNetns(src, NODE, NAMES, w)
    expect(src.asked.map((a) => a.argv)).toEqual([DUMP_ARGV])
    expect(w).toEqual([])
    expect(r.names).toEqual(['cni-a', 'cni-b'])
    expect(r.devices.get('cni-a')![0]).toMatchObject({name: 'eth0', addresses: [{local: '10.42.1.80'}]})
    expect(r.routes.get('cni-a')).toEqual([{family: 'ipv4', dst: 'default', gateway: '10.42.1.247', dev: 'eth0', table: 'main', type: 'unicast', flags: []}])
  })

  it('runs nothing when no veth leads to a named namespace', async () => {
    const src = fakeSource([])
    const r = await collectPeerNetns(src, [veth('cilium_net')], NAMES, [])
    expect(src.asked).toEqual([])
    expect(r.devices.size).toBe(0)
  })

  it('without CAP_SYS_ADMIN: one warning, whatever the number of namespaces', async () => {
    const out = dump([{netns: 'cni-a', error: 'permission', errno: 1, message: 'setns /run/netns/cni-a: Operation not permitted'}], {stopped: {reason: 'permission', unread: 1}})
    const w: Warning[] = []
    await collectPeerNetns(fakeSource([ok(DUMP_ARGV, out)]), NODE, NAMES, w)
    expect(w).toEqual([{probe: 'nodeinspect-bpf netns-dump', kind: 'permission', message: `${NEEDS_CAP_SYS_ADMIN} (2 namespaces not read: setns /run/netns/cni-a: Operation not permitted)`}])
  })

  it('stale entries: one warning naming them, the others read', async () => {
    const out = dump([POD_A, {netns: 'cni-b', error: 'stale', errno: 22, message: 'not a namespace'}])
    const w: Warning[] = []
    const r = await collectPeerNetns(fakeSource([ok(DUMP_ARGV, out)]), NODE, NAMES, w)
    expect(r.devices.has('cni-a')).toBe(true)
    expect(w.map((x) => x.message)).toEqual(['stale /run/netns entry skipped (the namespace is gone, only the name is left): cni-b'])
  })

  it('a snapshot taken before netns-dump: its ip -all netns exec output is read', async () => {
    const src = fakeSource([
      ok(['ip', '-all', 'netns', 'exec', 'ip', '-j', 'addr', 'show'], `\nnetns: cni-a\n${JSON.stringify(POD_A.links)}\n`),
      ok(['ip', '-all', 'netns', 'exec', 'ip', '-j', 'route', 'show', 'table', 'all'], 'netns: cni-a\n[{"dst":"default","gateway":"10.42.1.247","dev":"eth0"}]\n'),
    ])
    const w: Warning[] = []
    const r = await collectPeerNetns(src, NODE, NAMES, w)
    expect(w).toEqual([])
    expect(r.devices.get('cni-a')![0]!.addresses[0]!.local).toBe('10.42.1.80')
    expect(r.routes.get('cni-a')![0]).toMatchObject({dst: 'default', gateway: '10.42.1.247'})
  })

  it('a snapshot with none of these probes: nothing, and no warning', async () => {
    const w: Warning[] = []
    const r = await collectPeerNetns(fakeSource([]), NODE, NAMES, w)
    expect(w).toEqual([])
    expect(r.devices.size).toBe(0)
  })

  const CHECK_ARGV = ['nodeinspect-internal', 'netns-check', 'cni-a', 'cni-b']
  const batch = (n: string) => ({argv: ['ip', '-n', n, '-j', '-batch', '-'], input: 'addr show\nroute show table all\n'})

  it('no helper and no CAP_SYS_ADMIN: one warning, no ip -n at all', async () => {
    const src = fakeSource([failed(DUMP_ARGV, 'missing-binary'), ok(CHECK_ARGV, '{"cap_sys_admin":false,"netns":[{"netns":"cni-a","nsfs":true},{"netns":"cni-b","nsfs":true}]}')])
    const w: Warning[] = []
    await collectPeerNetns(src, NODE, NAMES, w)
    expect(src.asked.map((a) => a.argv[0])).toEqual(['nodeinspect-bpf', 'nodeinspect-internal'])
    expect(w).toEqual([{probe: 'ip -n NAME -j -batch -', kind: 'permission', message: `${NEEDS_CAP_SYS_ADMIN} (2 namespaces not read)`}])
  })

  it('no helper: one ip -n per live namespace, stale ones skipped first, and the cost said', async () => {
    const src = fakeSource([
      failed(DUMP_ARGV, 'exit', {exitCode: 2, stdout: '{"error":"unknown subcommand \'netns-dump\' (query, tcx-attach, version)"}'}),
      ok(CHECK_ARGV, '{"cap_sys_admin":true,"netns":[{"netns":"cni-a","nsfs":true},{"netns":"cni-b","nsfs":false}]}'),
      {...ok(batch('cni-a').argv, `${JSON.stringify(POD_A.links)}\n[{"dst":"default","gateway":"10.42.1.247","dev":"eth0"},{"dst":"fe80::/64","dev":"eth0","pref":"medium"}]\n`), input: batch('cni-a').input},
    ])
    const w: Warning[] = []
    const r = await collectPeerNetns(src, NODE, NAMES, w)
    expect(src.asked.filter((a) => a.argv[0] === 'ip').map((a) => a.argv[2])).toEqual(['cni-a'])
    expect(r.routes.get('cni-a')!.map((x) => [x.family, x.dst])).toEqual([
      ['ipv4', 'default'],
      ['ipv6', 'fe80::/64'],
    ])
    expect(w.map((x) => x.message)).toEqual([
      'stale /run/netns entry skipped (the namespace is gone, only the name is left): cni-b',
      'the nodeinspect-bpf helper is not built (npm run build needs gcc): read 1 peer namespace with one `ip -n NAME` each (1 process; the helper reads them all in one)',
    ])
  })

  it('the helper timing out is a warning, not a hang or a throw', async () => {
    const w: Warning[] = []
    await collectPeerNetns(fakeSource([failed(DUMP_ARGV, 'timeout')]), NODE, NAMES, w)
    expect(w).toEqual([{probe: 'nodeinspect-bpf netns-dump', kind: 'timeout', message: `${DUMP_ARGV.join(' ')}: timeout: pod addresses not known`}])
  })
})
