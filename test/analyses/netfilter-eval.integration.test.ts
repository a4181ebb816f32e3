// Live cross-check of evaluateHook against the kernel: a small kube-proxy-like iptables ruleset plus a native nft
// table in a throwaway netns ni-t<pid>-nfe, real packets sent from a second throwaway netns over a veth pair, and
// the kernel's own account of every base chain each packet went through (`nft monitor trace`, switched on by
// `meta nftrace set 1` in a raw-priority chain). Nothing leaves the two namespaces; both are deleted in afterAll.
import {spawn, type ChildProcess} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {evaluateHook, type HookResult, type PacketState} from '../../src/analyses/netfilter-eval.js'
import {nftTablesToEvaluate, type Hook, type NftRuleset, type XtRuleset} from '../../src/model/netfilter.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'
import {parseNftJson} from '../../src/probes/nft-ruleset.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

const skip = liveSkipReason(['iptables-restore', 'iptables-save', 'nft'])
if (skip) console.log(`netfilter-eval live cross-check: ${skip}`)

const IPTABLES = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 5555 -j MARK --set-xmark 0x100/0x100
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SEP-LIVE1 - [0:0]
:KUBE-SEP-LIVE2 - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-LIVE - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-SEP-LIVE1 -p tcp -m tcp -j DNAT --to-destination 10.99.0.1:8080
-A KUBE-SEP-LIVE2 -p tcp -m tcp -j DNAT --to-destination 10.99.0.1:8081
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-LIVE
-A KUBE-SVC-LIVE ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-LIVE -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-LIVE1
-A KUBE-SVC-LIVE -j KUBE-SEP-LIVE2
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -j KUBE-FIREWALL
-A INPUT -p tcp -m mark --mark 0x4000/0x4000 -m multiport --dports 8080,8081,8082 -j ACCEPT
-A INPUT -m mark --mark 0x100/0x100 -j ACCEPT
-A INPUT -p udp -m udp --dport 7777 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -j DROP
COMMIT
`

const NFT = `table inet ni-nfe-trace {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		ip saddr 10.99.0.2 meta nftrace set 1
	}
}
table inet ni-nfe {
	chain pre {
		type filter hook prerouting priority -160; policy accept;
		udp dport 4444 meta mark set meta mark | 0x00008000
		udp dport 3333 drop
	}
	chain nat-late {
		type nat hook prerouting priority 10; policy accept;
		ip daddr 10.96.0.20 tcp dport 80 dnat ip to 10.99.0.1:8082
	}
	chain filt-late {
		type filter hook prerouting priority -50; policy accept;
		ip daddr 10.99.0.1 tcp dport 8082 meta mark set meta mark | 0x00004000
	}
}
`

/** What the client sends, one after the other; `key` finds the packet in the trace (the pre-NAT destination port). */
const PACKETS = [
  {key: 'tcp dport 80 ', dst: '10.96.0.10', proto: 'tcp', dport: 80, what: 'kube-proxy style ClusterIP DNAT (statistic) then an INPUT accept on the 0x4000 mark'},
  {key: 'tcp dport 80 ', dst: '10.96.0.20', proto: 'tcp', dport: 80, what: 'an nft nat chain at priority 10, run inside the nat core before a filter chain at -50'},
  {key: 'udp dport 7777 ', dst: '10.99.0.1', proto: 'udp', dport: 7777, what: 'REJECT in filter INPUT'},
  {key: 'udp dport 6666 ', dst: '10.99.0.1', proto: 'udp', dport: 6666, what: 'filter INPUT policy DROP'},
  {key: 'udp dport 5555 ', dst: '10.99.0.1', proto: 'udp', dport: 5555, what: 'MARK in mangle, accepted on the mark in INPUT'},
  {key: 'udp dport 4444 ', dst: '10.99.0.1', proto: 'udp', dport: 4444, what: 'an nft mark 0x8000, dropped by KUBE-FIREWALL'},
  {key: 'udp dport 3333 ', dst: '10.99.0.1', proto: 'udp', dport: 3333, what: 'an nft drop at prerouting'},
] as const

interface Segment {
  /** `ip nat/PREROUTING`, `inet ni-nfe/pre`: the base chain whose traversal this is. */
  base: string
  packet: string
  verdict?: 'accept' | 'drop'
  /** What ended it: `KUBE-SEP-LIVE1 handle 12`, or `PREROUTING policy`. */
  by?: string
}

/**
 * `nft -a monitor trace`: `trace id 6e4bc911 ip nat PREROUTING packet: …`, `… ip nat KUBE-SVC rule … # handle 7 (verdict accept)`,
 * `… ip filter INPUT policy drop` → per trace id, the base chains in order with what ended each.
 */
function parseTrace(text: string): Map<string, Segment[]> {
  const out = new Map<string, Segment[]>()
  for (const line of text.split('\n')) {
    const m = /^trace id (\w+) (\S+) (\S+) (\S+) (.*)$/.exec(line.trim())
    if (!m) continue
    const [, id, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string]
    const segs = out.get(id) ?? []
    out.set(id, segs)
    if (rest.startsWith('packet: ')) {
      segs.push({base: `${family} ${table}/${chain}`, packet: rest.slice(8)})
      continue
    }
    const seg = segs[segs.length - 1]
    if (!seg) continue
    const rule = /# handle (\d+) \(verdict (accept|drop)\)$/.exec(rest)
    const policy = /^policy (accept|drop)/.exec(rest)
    if (rule) {
      seg.verdict = rule[2] as 'accept' | 'drop'
      seg.by = `${chain} handle ${rule[1]}`
    } else if (policy) {
      seg.verdict = policy[1] as 'accept' | 'drop'
      seg.by = `${chain} policy`
    }
  }
  return out
}

describe.skipIf(skip !== undefined)('evaluateHook against the kernel (nft monitor trace in a throwaway netns)', () => {
  let node: TestNetns
  let client: TestNetns
  let monitor: ChildProcess | undefined
  let trace = ''
  let xt: XtRuleset
  let nft: NftRuleset
  const hookOf = new Map<string, Hook>()
  /** Per PACKETS entry, the kernel's base chains in order with their verdicts. */
  const kernel: Segment[][] = []

  beforeAll(async () => {
    node = await createTestNetns('nfe')
    client = await createTestNetns('nfe-c')
    const clientPid = /^\/proc\/(\d+)\//.exec(client.path)?.[1]
    await node.sh(['ip', 'link', 'add', 'n0', 'type', 'veth', 'peer', 'name', 'c0', 'netns', clientPid ?? client.name])
    await node.sh(['ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'n0'])
    await node.sh(['ip', 'link', 'set', 'n0', 'up'])
    await node.sh(['ip', 'link', 'set', 'lo', 'up'])
    await client.sh(['ip', 'addr', 'add', '10.99.0.2/24', 'dev', 'c0'])
    await client.sh(['ip', 'link', 'set', 'c0', 'up'])
    await client.sh(['ip', 'link', 'set', 'lo', 'up'])
    await client.sh(['ip', 'route', 'add', 'default', 'via', '10.99.0.1'])
    await node.sh(['iptables-restore'], IPTABLES)
    await node.sh(['nft', '-f', '-'], NFT)

    // What nodeinspect would read on a node: iptables-save and nft -j, through the real parsers.
    const save = await node.sh(['iptables-save'])
    const px = parseIptablesSave(save.stdout, {family: 'ipv4', backend: 'nft'})
    expect(px.problems).toEqual([])
    xt = px.facts
    const pn = parseNftJson((await node.sh(['nft', '-j', 'list', 'ruleset'])).stdout)
    expect(pn.problems).toEqual([])
    nft = pn.facts
    for (const t of xt.tables) for (const c of t.chains) if (c.hook) hookOf.set(`ip ${t.name}/${c.name}`, c.hook)
    for (const t of nft.tables) for (const c of t.chains) if (c.base) hookOf.set(`${t.family} ${t.name}/${c.name}`, c.base.hook as Hook)

    monitor = spawn('nsenter', [`--net=${node.path}`, '--', 'nft', '-a', 'monitor', 'trace'], {stdio: ['ignore', 'pipe', 'pipe']})
    monitor.stdout!.setEncoding('utf8').on('data', (d: string) => (trace += d))
    const send = (script: string) => client.sh([process.execPath, '-e', script])
    // The monitor subscribes asynchronously: send a marker until its trace shows up.
    for (let i = 0; i < 50 && !trace.includes('udp dport 9 '); i++) {
      await send(`const s=require('dgram').createSocket('udp4');s.send('m',9,'10.99.0.1',()=>s.close())`)
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(trace, 'nft monitor trace never reported the marker packet').toContain('udp dport 9 ')
    for (const p of PACKETS) {
      const script =
        p.proto === 'tcp'
          ? `const c=require('net').connect({host:'${p.dst}',port:${p.dport}});c.on('error',()=>{});setTimeout(()=>{c.destroy();process.exit(0)},300)`
          : `const s=require('dgram').createSocket('udp4');s.on('error',()=>{});s.send('x',${p.dport},'${p.dst}',()=>setTimeout(()=>s.close(),50))`
      const before = new Set(parseTrace(trace).keys())
      await send(script)
      let segs: Segment[] | undefined
      for (let i = 0; i < 40 && !segs; i++) {
        await new Promise((r) => setTimeout(r, 50))
        for (const [id, s] of parseTrace(trace)) if (!before.has(id) && s[0]?.packet.includes(p.key) && s[0].packet.includes(`ip daddr ${p.dst} `)) segs = s
      }
      // Let the rest of this packet's trace arrive (its later hooks).
      await new Promise((r) => setTimeout(r, 150))
      const id = [...parseTrace(trace)].find(([i, s]) => !before.has(i) && s[0]?.packet.includes(p.key) && s[0].packet.includes(`ip daddr ${p.dst} `))
      kernel.push(id ? id[1] : [])
    }
  }, 60_000)

  afterAll(async () => {
    if (monitor?.pid !== undefined) monitor.kill('SIGTERM')
    await client?.close()
    await node?.close()
  })

  /**
   * The evaluator's base chains that ran, as the trace names them, with accept/drop (REJECT is a drop there) and the
   * rule that ended each: nft rules by handle; iptables rules by position, which is the index in nft's listing of
   * the iptables-nft chain (`nft -j list ruleset` keeps rule order).
   */
  const ours = (r: HookResult) =>
    r.tables
      .filter((t) => !t.verdict.startsWith('skipped') && !t.verdict.startsWith('not reached'))
      .map((t) => {
        const d = t.decidedBy
        let by: string | undefined
        if (d && d.position === 0) by = `${d.chain} policy`
        else if (d && d.engine === 'nft') by = `${d.chain} handle ${d.handle}`
        else if (d) by = `${d.chain} handle ${nft.tables.find((x) => x.family === 'ip' && x.name === d.table)?.chains.find((c) => c.name === d.chain)?.rules[d.position - 1]?.handle}`
        return {base: `${t.engine === 'nft' ? '' : 'ip '}${t.table}/${t.chain}`, verdict: /^(DROP|REJECT)/.test(t.verdict) ? 'drop' : 'accept', by}
      })

  function evaluate(i: number, branch = 0): {pre: HookResult; input?: HookResult} {
    const p = PACKETS[i]!
    const rules = {xt: [xt], nft: nftTablesToEvaluate(nft, [xt])}
    const ctx = {localAddresses: ['10.99.0.1', '127.0.0.1'], branch}
    const first: PacketState = {family: 'ipv4', src: '10.99.0.2', dst: p.dst, proto: p.proto, sport: 40000, dport: p.dport, mark: 0, ctmark: 0, iif: 'n0'}
    const pre = evaluateHook(rules, {...ctx, hook: 'prerouting'}, first)
    if (pre.verdict !== 'accept') return {pre}
    return {pre, input: evaluateHook(rules, {...ctx, hook: 'input'}, pre.packet)}
  }

  it.each(PACKETS.map((p, i) => [i, p.what] as const))('packet %i (%s): same base chains, same order, same verdicts, decided by the same rules', (i) => {
    const k = kernel[i]!
    expect(k.length, `no trace for packet ${i}:\n${trace.slice(-3000)}`).toBeGreaterThan(0)
    const kernelBy = (hook: Hook) => k.filter((s) => hookOf.get(s.base) === hook).map((s) => ({base: s.base, verdict: s.verdict, by: s.by}))
    // The kernel picked one endpoint at random: evaluate the alternative whose DNAT it took.
    const inputPort = /dport (\d+) /.exec(k.find((s) => hookOf.get(s.base) === 'input')?.packet ?? '')?.[1]
    let r = evaluate(i)
    if (r.pre.branches.length > 0) {
      const matching = r.pre.branches.map((_, b) => evaluate(i, b)).filter((x) => String(x.pre.packet.dport) === inputPort)
      expect(matching, `kernel DNATed to port ${inputPort}, not among ${r.pre.branches.map((b) => b.leadsTo).join(', ')}`).toHaveLength(1)
      r = matching[0]!
    }
    expect(ours(r.pre)).toEqual(kernelBy('prerouting'))
    expect(r.input ? ours(r.input) : []).toEqual(kernelBy('input'))
    const kernelVerdict = k.some((s) => s.verdict === 'drop') ? 'drop' : 'accept'
    const verdict = r.input?.verdict ?? r.pre.verdict
    expect(verdict === 'reject' ? 'drop' : verdict).toBe(kernelVerdict)
    if (r.pre.nat) {
      const at = k.find((s) => hookOf.get(s.base) === 'input')?.packet ?? ''
      expect(at).toContain(`ip daddr ${r.pre.nat.after.addr} `)
      expect(at).toContain(`dport ${r.pre.nat.after.port} `)
    }
  })

  it('the kernel took one of the statistic alternatives, each reported with probability 0.5', () => {
    const r = evaluate(0)
    expect(r.pre.branches.map((b) => [b.leadsTo, b.probability])).toEqual([
      ['KUBE-SEP-LIVE1', 0.5],
      ['KUBE-SEP-LIVE2', 0.5],
    ])
  })
})
