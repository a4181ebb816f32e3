// nodeinspect only reads: every inspection command, run on the lab's nodes and on the host, leaves every
// namespace's links, addresses, routes, rules, firewall, tc and BPF objects exactly as they were, and strace shows
// it asked the kernel nothing but read-only bpf(2) commands and netlink queries.
import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {LabState} from '../../src/lab/state.js'
import {labDown} from '../../src/lab/teardown.js'
import {labTopology} from '../../src/lab/topology.js'
import {labUp} from '../../src/lab/up.js'
import {runCommand} from '../../src/source/run-command.js'
import {ROOT} from '../helpers/fixtures.js'
import {hostStateSnapshot, liveLabSkipReason, sweepStaleLabs} from './live.js'
import {auditStrace, netlinkReadOnly, symbolicNetlinkReadOnly} from './syscall-audit.js'

const prefix = `nilab-t${process.pid}ro`
const topo = labTopology(prefix)
const n1 = topo.nodes[0]!.netns
const n2 = topo.nodes[1]!.netns
const hasStrace = spawnSync('sh', ['-c', 'command -v strace']).status === 0
const skipReason = [liveLabSkipReason(), hasStrace ? '' : 'strace is not installed'].filter(Boolean).join('; ')

async function out(argv: string[], netns?: string): Promise<string> {
  const full = netns ? ['nsenter', `--net=/run/netns/${netns}`, '--', ...argv] : argv
  const r = await runCommand({file: full[0]!, args: full.slice(1), logicalArgv: argv, timeoutMs: 30_000})
  return `${r.stdout}${r.failure ? `\n<${r.message}>` : ''}`
}

/** Everything of one netns that an inspection could change, counters and timestamps aside. */
async function netnsState(netns: string): Promise<Record<string, string>> {
  const s: Record<string, string> = {}
  s.link = await out(['ip', '-d', '-j', 'link', 'show'], netns)
  s.addr = await out(['ip', '-j', 'addr', 'show'], netns)
  s.route4 = await out(['ip', '-j', 'route', 'show', 'table', 'all'], netns)
  s.route6 = await out(['ip', '-j', '-6', 'route', 'show', 'table', 'all'], netns)
  s.rule = await out(['ip', '-j', 'rule', 'show'], netns)
  s.neigh = (await out(['ip', '-j', 'neigh', 'show'], netns)).replace(/"state":\[[^\]]*\]/g, '')
  s.iptables = (await out(['iptables-save'], netns))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n')
  s.nft = (await out(['nft', 'list', 'ruleset'], netns)).replace(/packets \d+ bytes \d+/g, '')
  s.bpfNet = await out(['bpftool', '-j', 'net', 'show'], netns)
  s.tc = ''
  for (const dev of JSON.parse(s.link) as Array<{ifname: string}>) {
    for (const dir of ['ingress', 'egress']) s.tc += `${dev.ifname} ${dir}: ${(await out(['tc', '-j', 'filter', 'show', 'dev', dev.ifname, dir], netns)).trim()}\n`
  }
  return s
}

/**
 * BPF objects are global, and other test runs create and free their own meanwhile: the lab's (its programs, maps
 * and tcx links, ids as the kernel gave them) must all still exist, each with the same tag.
 */
async function labBpfObjects(state: LabState): Promise<Record<string, string>> {
  const shown = async (kind: string) => new Map((JSON.parse(await out(['bpftool', '-j', kind, 'show'])) as Array<{id: number; tag?: string; type?: string}>).map((o) => [o.id, `${o.type ?? ''} ${o.tag ?? ''}`]))
  const [progs, maps, links] = [await shown('prog'), await shown('map'), await shown('link')]
  const list = (ids: number[], m: Map<number, string>) => [...new Set(ids)].sort((a, b) => a - b).map((id) => `${id} ${m.get(id) ?? 'GONE'}`).join('\n')
  return {
    progs: list([...state.attachments.map((a) => a.progId), ...state.tailCalls.map((t) => t.progId)], progs),
    maps: list(state.ciliumMaps.map((m) => m.id), maps),
    links: list(state.attachments.flatMap((a) => (a.linkId === undefined ? [] : [a.linkId])), links),
  }
}

/** One of each command on a lab node (the trace crosses both nodes), and on the host. */
const INSPECTIONS: string[][] = [
  ['hooks', '--netns', n1],
  ['marks', '--netns', n1, '--json'],
  ['trace', '10.42.1.80', '10.96.0.80:80', '--netns', n1, '--netns', n2],
  ['snapshot', '--netns', n2, '-o', '/dev/null'],
  ['hooks'],
  ['marks', '--json'],
]

describe('syscall audit (pure)', () => {
  it('reads strace lines: netlink GETs and read-only bpf pass, NEW/DEL and attach do not', () => {
    const text = [
      '100 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 3',
      '100 sendto(3, [[{nlmsg_len=24, nlmsg_type=0x12 /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST|0x300, nlmsg_seq=1, nlmsg_pid=0}, ""], {nlmsg_len=0, nlmsg_type=0 /* NLMSG_??? */, nlmsg_flags=0, nlmsg_seq=0, nlmsg_pid=0}], 152, 0, NULL, 0) = 152',
      '100 sendto(3, [{nlmsg_len=24, nlmsg_type=0x10 /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST, nlmsg_seq=2, nlmsg_pid=0}, ""], 24, 0, NULL, 0) = 24',
      '101 socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER) = 3',
      '101 sendmsg(3, {msg_iov=[{iov_base=[{nlmsg_len=20, nlmsg_type=0xa07 /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST|0x300}]}]}, 0) = 20',
      '101 sendmsg(3, {msg_iov=[{iov_base=[{nlmsg_len=20, nlmsg_type=0xa06 /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST}]}]}, 0) = 20',
      '103 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_XFRM <unfinished ...>',
      '103 <... socket resumed>)             = 5',
      '103 sendto(5, [{nlmsg_len=20, nlmsg_type=0x15 /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST|0x300}], 20, 0, NULL, 0) = 20',
      '104 socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) = 3',
      '104 sendto(3, [{nlmsg_len=40, nlmsg_type=RTM_GETLINK, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=1, nlmsg_pid=0}], 40, 0, NULL, 0) = 40',
      '104 sendto(3, [{nlmsg_len=40, nlmsg_type=RTM_NEWROUTE, nlmsg_flags=NLM_F_REQUEST|NLM_F_CREATE, nlmsg_seq=1, nlmsg_pid=0}], 40, 0, NULL, 0) = 40',
      '102 bpf(BPF_PROG_QUERY, {query={target_ifindex=2}}, 64) = 0',
      '102 bpf(BPF_PROG_ATTACH, {target_fd=3}, 64) = 0',
    ].join('\n')
    const a = auditStrace(text)
    expect(a.writes.map((w) => w.split(':')[0])).toEqual(['NETLINK_ROUTE type 0x10', 'NETLINK_NETFILTER type 0xa06', 'RTM_NEWROUTE', 'bpf BPF_PROG_ATTACH'])
    expect(a.netlink.get('RTM_GETLINK')).toBe(1)
    expect(a.bpf.get('BPF_PROG_QUERY')).toBe(1)
    expect(a.netlink.get('NETLINK_ROUTE type 0x12')).toBe(1)
    expect(a.netlink.get('NETLINK_XFRM type 0x15')).toBe(1) // GETPOLICY, on a socket whose creation strace split in two
  })

  it("knows the kernel's query types", () => {
    expect(['0x12', '0x16', '0x1a', '0x1e', '0x22', '0x26', '0x2a', '0x2e', '0x5a'].every((t) => netlinkReadOnly('NETLINK_ROUTE', Number(t)))).toBe(true) // GETLINK…GETTFILTER, GETNSID
    expect(['0x10', '0x11', '0x13', '0x14', '0x2c', '0x2d'].some((t) => netlinkReadOnly('NETLINK_ROUTE', Number(t)))).toBe(false) // NEWLINK, DELLINK, SETLINK, NEWADDR, NEWTFILTER, DELTFILTER
    expect(netlinkReadOnly('NETLINK_SOCK_DIAG', 21)).toBe(false) // SOCK_DESTROY
    expect(netlinkReadOnly('NETLINK_NETFILTER', 0x103)).toBe(false) // IPCTNL_MSG_CT_GET_CTRZERO
    expect(netlinkReadOnly('unknown', 0x12)).toBe(false)
    expect(symbolicNetlinkReadOnly('NFNL_SUBSYS_NFTABLES<<8|NFT_MSG_GETRULE')).toBe(true)
    expect(symbolicNetlinkReadOnly('NFNL_SUBSYS_NFTABLES<<8|NFT_MSG_GETRULE_RESET')).toBe(false)
    expect(symbolicNetlinkReadOnly('NFNL_SUBSYS_NFTABLES<<8|NFT_MSG_NEWRULE')).toBe(false)
  })
})

describe.skipIf(skipReason !== '')(`inspection commands leave the node exactly as it was, prefix ${prefix} (${skipReason || 'root, strace'})`, () => {
  const before: Record<string, Record<string, string>> = {}
  let state: LabState

  beforeAll(async () => {
    await sweepStaleLabs('ro')
    state = await labUp({prefix})
    before.host = await hostStateSnapshot(prefix)
    before.bpf = await labBpfObjects(state)
    expect(before.bpf.progs).not.toContain('GONE')
    for (const ns of topo.namespaces) before[ns] = await netnsState(ns)
  }, 120_000)

  afterAll(async () => {
    await labDown(prefix)
  })

  it.each(INSPECTIONS.map((a) => [a.join(' '), a] as const))('nodeinspect %s: only reads (strace)', (_, args) => {
    const log = `/tmp/nodeinspect-test-${process.pid}-strace.log`
    const r = spawnSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=socket,bpf,sendto,sendmsg', '-e', 'signal=none', process.execPath, `${ROOT}bin/run.js`, ...args], {cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: {...process.env, NO_COLOR: '1'}})
    expect(r.status, r.stderr).toBe(0)
    const audit = auditStrace(spawnSync('cat', [log], {encoding: 'utf8', maxBuffer: 1 << 28}).stdout)
    spawnSync('rm', ['-f', log])
    expect(audit.writes).toEqual([])
    // It did ask the kernel: the audit saw the requests (a broken strace parse would pass vacuously).
    expect([...audit.netlink.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    // On a lab node it asks the kernel about the programs there (the host may have none to ask about).
    if (args.includes('--netns')) expect(audit.bpf.size).toBeGreaterThan(0)
  }, 150_000)

  it('every namespace of the lab, the host and the BPF objects are exactly as before', async () => {
    expect(await labBpfObjects(state)).toEqual(before.bpf)
    for (const ns of topo.namespaces) {
      const now = await netnsState(ns)
      for (const k of Object.keys(before[ns]!)) expect(now[k], `${ns} ${k}`).toBe(before[ns]![k])
    }
    const host = await hostStateSnapshot(prefix)
    for (const k of Object.keys(before.host!)) expect(host[k], `host ${k}`).toBe(before.host![k])
  }, 120_000)
})
