/**
 * `nft monitor trace` in the lab (test support): a throwaway raw-priority table that sets nftrace on one flow, the
 * monitor run inside a node's netns, and the parsers of what it prints (pure, tested on captures in testdata/lab/).
 * The monitor is a long-running child, so this file spawns it directly (runCommand waits for its end).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {LabError, labRun, labTry, netnsFile} from '../../src/lab/exec.js'
import {familyOf} from '../../src/util/ip.js'
import {isPort} from './lab-probe.js'

export interface NftTraceMatch {
  saddr: string
  daddr?: string
  proto?: 'tcp' | 'udp' | 'icmp'
  sport?: number
  dport?: number
}

export type TraceEventKind = 'packet' | 'rule' | 'verdict' | 'policy' | 'other'

/** The fields of a `packet:` line nodeinspect uses (the rest stays in `raw`). */
export interface TracePacket {
  iif?: string
  oif?: string
  etherSaddr?: string
  etherDaddr?: string
  saddr?: string
  daddr?: string
  /** tcp, udp, icmp… (the transport header nft printed). */
  proto?: string
  sport?: number
  dport?: number
  /** `tcp flags == syn` -> 'syn'; `ack | syn` style sets are kept as printed. */
  tcpFlags?: string
  ttl?: number
  ipId?: number
  length?: number
  /** Only when nft printed `meta mark` on the packet line (nft 1.0.6 prints the mark on policy/verdict lines). */
  mark?: number
}

export interface TraceEvent {
  /** The trace id (hex): one per packet (skb) and stable across the hooks of one netns. */
  id: string
  family: string
  table: string
  chain: string
  kind: TraceEventKind
  /** rule: the rule as nft prints it (counters included), without `# handle` and the verdict. */
  rule?: string
  handle?: number
  /** rule / verdict lines: accept, drop, continue, return, jump X, goto X, queue… */
  verdict?: string
  /** policy lines: the base chain's policy that applied. */
  policy?: string
  /** policy / verdict lines: the packet's mark at that point (the kernel sends it only when non-zero: absent = 0). */
  mark?: number
  packet?: TracePacket
  raw: string
}

const TRACE_RE = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/

function parseMark(s: string): {rest: string; mark?: number} {
  const m = / ?meta mark (0x[0-9a-f]+)\s*$/.exec(s)
  return m ? {rest: s.slice(0, m.index).trim(), mark: Number.parseInt(m[1]!.slice(2), 16) >>> 0} : {rest: s.trim()}
}

/** The fields of a `packet:` line (pure). */
export function parseTracePacket(text: string): TracePacket {
  const p: TracePacket = {}
  const str = (re: RegExp) => re.exec(text)?.[1]
  const num = (re: RegExp) => {
    const v = re.exec(text)?.[1]
    return v === undefined ? undefined : Number(v)
  }
  const set = <K extends keyof TracePacket>(k: K, v: TracePacket[K] | undefined) => {
    if (v !== undefined) p[k] = v
  }
  set('iif', str(/\biif "([^"]*)"/))
  set('oif', str(/\boif "([^"]*)"/))
  set('etherSaddr', str(/\bether saddr (\S+)/))
  set('etherDaddr', str(/\bether daddr (\S+)/))
  set('saddr', str(/\bip saddr (\S+)/))
  set('daddr', str(/\bip daddr (\S+)/))
  const l4 = /\b(tcp|udp|icmp|sctp|udplite) (?:sport|dport|type|flags)\b/.exec(text)?.[1]
  set('proto', l4)
  if (l4 === 'tcp' || l4 === 'udp' || l4 === 'sctp' || l4 === 'udplite') {
    set('sport', num(new RegExp(`\\b${l4} sport (\\d+)`)))
    set('dport', num(new RegExp(`\\b${l4} dport (\\d+)`)))
  }
  set('tcpFlags', str(/\btcp flags == (\S+(?: \| \S+)*)/))
  set('ttl', num(/\bip ttl (\d+)/))
  set('ipId', num(/\bip id (\d+)/))
  set('length', num(/\bip length (\d+)/))
  const mark = str(/\bmeta mark (0x[0-9a-f]+)/)
  if (mark !== undefined) p.mark = Number.parseInt(mark.slice(2), 16) >>> 0
  return p
}

/**
 * Parse `nft -a monitor trace` output (nftables 1.0.6) into events, in order (pure). Lines look like
 *   trace id 0f83b0f3 ip filter FORWARD packet: iif "lxc48c4aa0637ce" oif "cilium_vxlan" ether saddr … ip saddr 10.42.1.80 …
 *   trace id 0f83b0f3 ip nat KUBE-SEP-YTXN4VEJAMOLS3CC rule meta l4proto tcp … dnat to 10.42.0.51:80 # handle 31 (verdict accept)
 *   trace id 0f83b0f3 ip filter KUBE-FORWARD verdict continue meta mark 0x00008000
 *   trace id 0f83b0f3 ip nat POSTROUTING policy accept meta mark 0x00004000
 * Anything else (blank lines, warnings) is skipped.
 */
export function parseNftMonitorTrace(text: string): TraceEvent[] {
  const out: TraceEvent[] = []
  for (const rawLine of text.split('\n')) {
    const raw = rawLine.trimEnd()
    const m = TRACE_RE.exec(raw)
    if (!m) continue
    const [, id, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string]
    const e: TraceEvent = {id, family, table, chain, kind: 'other', raw}
    if (rest.startsWith('packet: ')) {
      e.kind = 'packet'
      e.packet = parseTracePacket(rest.slice('packet: '.length))
    } else if (rest.startsWith('rule ')) {
      e.kind = 'rule'
      const r = /^rule (.*?)\s*\(verdict ([^)]*)\)\s*$/.exec(rest)
      let body = r ? r[1]! : rest.slice(5)
      if (r) e.verdict = r[2]!.trim()
      const h = /\s*# handle (\d+)\s*$/.exec(body)
      if (h) {
        e.handle = Number(h[1])
        body = body.slice(0, h.index)
      }
      // iptables-nft rules print a double space where an xtables match (a comment) was: collapse runs of blanks.
      e.rule = body.trim().replace(/\s{2,}/g, ' ')
    } else if (rest.startsWith('verdict ')) {
      e.kind = 'verdict'
      const {rest: v, mark} = parseMark(rest.slice('verdict '.length))
      e.verdict = v
      if (mark !== undefined) e.mark = mark
    } else if (rest.startsWith('policy ')) {
      e.kind = 'policy'
      const {rest: v, mark} = parseMark(rest.slice('policy '.length))
      e.policy = v
      e.mark = mark ?? 0
    }
    if (e.kind === 'verdict' && e.mark === undefined) e.mark = 0
    out.push(e)
  }
  return out
}

/**
 * Events grouped by packet, in order of first appearance (pure). The kernel derives the trace id from the skb's
 * address, so a later packet of the flow can reuse the id of an earlier one: within one id, a `packet:` line for
 * a base chain the group already saw starts a new packet.
 */
export function traceGroups(events: readonly TraceEvent[]): Array<{id: string; events: TraceEvent[]}> {
  const groups: Array<{id: string; events: TraceEvent[]; seen: Set<string>}> = []
  const current = new Map<string, {id: string; events: TraceEvent[]; seen: Set<string>}>()
  for (const e of events) {
    const hook = `${e.family} ${e.table} ${e.chain}`
    let g = current.get(e.id)
    if (!g || (e.kind === 'packet' && g.seen.has(hook))) {
      g = {id: e.id, events: [], seen: new Set()}
      groups.push(g)
      current.set(e.id, g)
    }
    if (e.kind === 'packet') g.seen.add(hook)
    g.events.push(e)
  }
  return groups.map(({id, events: evs}) => ({id, events: evs}))
}

/**
 * What happened to one traced packet in this netns (pure): 'drop' when a rule or a policy dropped it, 'accept'
 * when it passed every base chain it met, 'unknown' when the trace shows neither.
 */
export function traceVerdict(events: readonly TraceEvent[]): 'accept' | 'drop' | 'unknown' {
  if (events.some((e) => (e.kind === 'rule' || e.kind === 'verdict') && e.verdict === 'drop') || events.some((e) => e.kind === 'policy' && e.policy === 'drop')) return 'drop'
  if (events.some((e) => e.kind === 'policy' || ((e.kind === 'rule' || e.kind === 'verdict') && e.verdict === 'accept'))) return 'accept'
  return 'unknown'
}

/** One line per event for people: `ip nat KUBE-SEP-… rule <text> #31 -> accept` (pure). */
export function formatTraceEvent(e: TraceEvent): string {
  const where = `${e.family} ${e.table} ${e.chain}`
  const mark = e.mark ? ` mark 0x${e.mark.toString(16)}` : ''
  if (e.kind === 'packet') {
    const p = e.packet ?? {}
    const ports = p.sport !== undefined ? `:${p.sport} -> ${p.daddr}:${p.dport}` : ` -> ${p.daddr}`
    return `${where} packet ${p.iif ? `iif ${p.iif} ` : ''}${p.oif ? `oif ${p.oif} ` : ''}${p.saddr}${ports} ${p.proto ?? ''}${p.tcpFlags ? ` [${p.tcpFlags}]` : ''}`.trimEnd()
  }
  if (e.kind === 'rule') return `${where} rule "${e.rule}"${e.handle !== undefined ? ` #${e.handle}` : ''} -> ${e.verdict ?? '?'}`
  if (e.kind === 'verdict') return `${where} verdict ${e.verdict}${mark}`
  if (e.kind === 'policy') return `${where} policy ${e.policy}${mark}`
  return e.raw
}

/** The throwaway table (pure): raw-priority (-350) prerouting and output chains that set nftrace on the flow. */
export function nftTraceRuleset(table: string, m: NftTraceMatch): string {
  if (!/^[a-z][a-z0-9_]{0,60}$/.test(table)) throw new LabError('trace', `trace: bad table name ${table}`)
  for (const a of [m.saddr, m.daddr]) if (a !== undefined && familyOf(a) !== 'ipv4') throw new LabError('trace', `trace: not an IPv4 address: ${a}`)
  for (const p of [m.sport, m.dport]) if (p !== undefined && !isPort(p)) throw new LabError('trace', `trace: bad port ${p}`)
  if (m.proto !== undefined && !['tcp', 'udp', 'icmp'].includes(m.proto)) throw new LabError('trace', `trace: bad protocol ${m.proto}`)
  if ((m.sport !== undefined || m.dport !== undefined) && (m.proto === undefined || m.proto === 'icmp')) throw new LabError('trace', 'trace: ports need proto tcp or udp')
  const expr = [`ip saddr ${m.saddr}`]
  if (m.daddr !== undefined) expr.push(`ip daddr ${m.daddr}`)
  if (m.proto !== undefined) expr.push(`meta l4proto ${m.proto}`)
  if (m.sport !== undefined) expr.push(`${m.proto} sport ${m.sport}`)
  if (m.dport !== undefined) expr.push(`${m.proto} dport ${m.dport}`)
  const rule = `${expr.join(' ')} meta nftrace set 1`
  return [
    `table ip ${table} {`,
    `\tchain pre { type filter hook prerouting priority -350; policy accept; ${rule}; }`,
    `\tchain out { type filter hook output priority -350; policy accept; ${rule}; }`,
    '}',
    '',
  ].join('\n')
}

/** Whether a process has a NETLINK_NETFILTER socket subscribed to NFNLGRP_NFTRACE (group 9): /proc/<pid>/net/netlink. */
export function netlinkTraceSubscribed(procNetNetlink: string, pid: number): boolean {
  for (const line of procNetNetlink.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 4) continue
    if (Number(f[1]) === 12 && Number(f[2]) === pid && (Number.parseInt(f[3]!, 16) & 0x100) !== 0) return true
  }
  return false
}

export interface NftTraceOptions {
  /** Stop once the monitor printed nothing for this long after fn returned (default 150 ms). */
  settleMs?: number
  /** ... but never wait longer than this after fn (default 3000 ms). */
  maxSettleMs?: number
  /** Keep the events of the throwaway table itself (default: dropped). */
  keepOwnTable?: boolean
  /** Receives the monitor's raw output (to keep a capture). */
  onRaw?: (text: string) => void
}

let traceSeq = 0
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Monitor {
  child: ChildProcess
  text: () => string
  lastData: () => number
  exited: Promise<void>
  exitInfo: () => string
}

function startMonitor(netns: string): Monitor {
  const child = spawn('nsenter', [`--net=${netnsFile(netns)}`, '--', 'nft', '-a', 'monitor', 'trace'], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  let last = Date.now()
  let info = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8')
    last = Date.now()
  })
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')))
  const exited = new Promise<void>((resolve) => {
    child.on('error', (e) => {
      info = e.message
      resolve()
    })
    child.on('exit', (code, signal) => {
      info ||= `${signal ?? `exit ${code}`}${err.trim() ? `: ${err.trim().split('\n')[0]}` : ''}`
      resolve()
    })
  })
  return {child, text: () => out, lastData: () => last, exited, exitInfo: () => info}
}

/**
 * Trace one flow through a lab netns's netfilter: add a throwaway native nft table there whose raw-priority (-350)
 * prerouting and output chains set `meta nftrace set 1` on packets matching `match`, start `nft -a monitor trace`
 * inside the netns, wait until it has subscribed, run fn (which sends the packets), wait until the monitor is
 * quiet, stop it, delete the table, and return the parsed events (the throwaway table's own events dropped).
 * fn's value is not returned: keep it in a closure. The table is deleted even when fn throws.
 */
export async function withNftTrace(netns: string, match: NftTraceMatch, fn: () => Promise<unknown>, opts: NftTraceOptions = {}): Promise<TraceEvent[]> {
  return withNftTraceTable(netns, (table) => nftTraceRuleset(table, match), fn, opts)
}

/**
 * withNftTrace with a throwaway table of the caller's making: `ruleset(table)` returns the `nft -f` text of a
 * `table ip <table>` (it must set nftrace somewhere). Its own events are kept only with opts.keepOwnTable.
 */
export async function withNftTraceTable(netns: string, ruleset: (table: string) => string, fn: () => Promise<unknown>, opts: NftTraceOptions = {}): Promise<TraceEvent[]> {
  const table = `nilab_trace_${process.pid}_${++traceSeq}`
  await labRun(`trace table (${netns})`, ['nft', '-f', '-'], {netns, input: ruleset(table)})
  let mon: Monitor | undefined
  try {
    mon = startMonitor(netns)
    const pid = mon.child.pid
    const deadline = Date.now() + 3000
    let ready = false
    let exited = false
    void mon.exited.then(() => (exited = true))
    while (!ready && !exited && Date.now() < deadline) {
      try {
        if (pid !== undefined) ready = netlinkTraceSubscribed(readFileSync(`/proc/${pid}/net/netlink`, 'utf8'), pid)
      } catch {
        /* not started yet */
      }
      if (!ready) await sleep(5)
    }
    if (!ready) throw new LabError('trace', `trace: nft monitor trace in ${netns} did not start${exited ? ` (${mon.exitInfo()})` : ' within 3 s'}`)
    await fn()
    const settle = opts.settleMs ?? 150
    const until = Date.now() + (opts.maxSettleMs ?? 3000)
    while (Date.now() < until && Date.now() - mon.lastData() < settle) await sleep(Math.min(25, settle))
  } finally {
    if (mon && mon.child.exitCode === null && mon.child.signalCode === null) {
      mon.child.kill('SIGTERM')
      await Promise.race([mon.exited, sleep(2000)])
    }
    await labTry(['nft', 'delete', 'table', 'ip', table], {netns})
  }
  const text = mon.text()
  opts.onRaw?.(text)
  const events = parseNftMonitorTrace(text)
  return opts.keepOwnTable ? events : events.filter((e) => e.table !== table)
}
