/**
 * Sockets that carry an SO_MARK (Tailscale's 0x80000 bypass mark, wg-quick's 0xca6c, Cilium's proxy sockets),
 * with their owning processes: `ss -H -O -a -n -e -p -t -u -w` (iproute2 6.1 misc/ss.c).
 *
 * Why these options: -t -u -w (TCP, UDP, RAW of both families: the sockets whose mark steers routing; with more
 * than one type ss prints the Netid column); -a (listening and unconnected sockets too: a daemon's marked UDP
 * socket is UNCONN); -n (numbers, no DNS or service lookups); -e (sock_details_print: `fwmark:0x…`, printed only
 * with -e and only when the mark is non-zero, plus ino/uid/cgroup); -p (`users:(("tailscaled",pid=1,fd=4))`);
 * -H (no header: its last two titles run together, "Peer Address:PortProcess"); -O (one line per socket).
 * The kernel only reports sk_mark to a caller with CAP_NET_ADMIN in the socket's netns (INET_DIAG_MARK): run as
 * a non-root user, ss shows no fwmark at all. Raw sockets need CONFIG_INET_RAW_DIAG; without it ss lists them from
 * /proc/net/raw with no -e details and no mark (seen on the development kernel): `markVisible` says which.
 * Process names come from /proc/PID/stat via fscanf("%*d (%[^)])"), so ss cuts a name at its first ')'.
 */
import {probe} from './descriptor.js'
import {problem} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import type {SsSocket, SsProcess, SsEndpoint} from '../model/socket.js'

/** @internal tested directly (a test seam) */
export const SS_MARKS_ARGV = ['ss', '-H', '-O', '-a', '-n', '-e', '-p', '-t', '-u', '-w'] as const

export const ssMarksProbe = probe({argv: SS_MARKS_ARGV}, (t) => parseSsSockets(t), [] as SsSocket[])

const PROBE = 'ss -H -O -a -n -e -p -t -u -w'
const STATES = new Set(['UNCONN', 'LISTEN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSING', 'CLOSED', 'UNKNOWN', 'NEW-SYN-RECV', 'BOUND'])

/** Split on blanks, but not inside `(…)` or `"…"` (process names may hold spaces or parentheses). */
function words(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let depth = 0
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quoted) {
      cur += c
      // ss prints the name raw between quotes; it ends at `",pid=`
      if (c === '"' && line.startsWith(',pid=', i + 1)) quoted = false
      continue
    }
    if (c === '"') quoted = true
    else if (c === '(') depth++
    else if (c === ')') depth = Math.max(0, depth - 1)
    if ((c === ' ' || c === '\t') && depth === 0) {
      if (cur !== '') out.push(cur)
      cur = ''
    } else cur += c
  }
  if (cur !== '') out.push(cur)
  return out
}

/** `127.0.0.1:4242`, `*:5353`, `[::1]:80`, `[::ffff:10.0.0.1]:443`, `127.0.0.53%lo:53`, `[fe80::1]%eth0:546`. */
function endpoint(s: string): SsEndpoint | undefined {
  const colon = s.lastIndexOf(':')
  if (colon <= 0) return undefined
  const port = s.slice(colon + 1)
  let addr = s.slice(0, colon)
  if (port === '' || (port !== '*' && !/^\d+$/.test(port))) return undefined
  let iface: string | undefined
  const pct = addr.lastIndexOf('%')
  if (pct > 0 && !addr.slice(pct).includes(']')) {
    iface = addr.slice(pct + 1)
    addr = addr.slice(0, pct)
  }
  if (addr.startsWith('[') && addr.endsWith(']')) addr = addr.slice(1, -1)
  if (addr === '' || (!addr.includes(':') && addr !== '*' && !/^[0-9.]+$/.test(addr))) return undefined
  const e: SsEndpoint = {address: addr, port}
  if (iface !== undefined) e.iface = iface
  return e
}

const PID_FD = /(\d+),fd=(\d+)\)/y

/**
 * `users:(("python3",pid=4106,fd=4),("sshd",pid=1,fd=3))`. A name (the process's comm, anyone's to choose) may hold
 * quotes, so it runs from `("` to the first `",pid=`. Scanned by hand in one pass: the regex it replaces,
 * /\("((?:[^"]|"(?!,pid=))*)",pid=…/g, rescanned the rest of the field from every `("` (quadratic).
 */
function processes(v: string): SsProcess[] | undefined {
  const out: SsProcess[] = []
  let from = 0
  let end = -1 // the first `",pid=` at or after the current name's start, reused while it is still ahead
  for (let open = v.indexOf('("', from); open >= 0; open = v.indexOf('("', from)) {
    if (end < open + 2) end = v.indexOf('",pid=', open + 2)
    if (end < 0) break
    PID_FD.lastIndex = end + 6
    const m = PID_FD.exec(v)
    if (!m) {
      // every start before this `",pid=` ends at it too, and fails the same way
      from = Math.max(open + 1, end - 1)
      end = -1
      continue
    }
    out.push({name: v.slice(open + 2, end), pid: Number(m[1]), fd: Number(m[2])})
    from = PID_FD.lastIndex
  }
  return out.length === 0 ? undefined : out
}

/**
 * `ss -H -O -a -n -e -p -t -u -w`, e.g.
 * `udp UNCONN 0 0 0.0.0.0:51820 0.0.0.0:* users:(("python3",pid=4106,fd=4)) ino:7306 sk:1 fwmark:0x1e00 cgroup:/ <->`.
 * @internal tested directly (a test seam)
 */
export function parseSsSockets(text: string): Parsed<SsSocket[]> {
  const facts: SsSocket[] = []
  const problems: ParseProblem[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1
    const raw = (lines[i] ?? '').replace(/\r$/, '')
    if (raw.trim() === '') continue
    const bad = (m: string) => problems.push(problem(PROBE, m, lineNo, raw))
    const w = words(raw.trim())
    if (w[0] === 'Netid' || (w[0] === 'State' && w[1] === 'Recv-Q')) continue // a header, when run without -H
    let k = 0
    let netid: string | undefined
    if (!STATES.has(w[0]!)) {
      netid = w[0]
      k = 1
    }
    const state = w[k]
    if (state === undefined || !STATES.has(state)) {
      bad(`unknown socket state "${state ?? ''}"`)
      continue
    }
    const rq = w[k + 1]
    const sq = w[k + 2]
    const local = w[k + 3] === undefined ? undefined : endpoint(w[k + 3]!)
    const peer = w[k + 4] === undefined ? undefined : endpoint(w[k + 4]!)
    if (rq === undefined || sq === undefined || !/^\d+$/.test(rq) || !/^\d+$/.test(sq)) {
      bad('Recv-Q / Send-Q are not numbers')
      continue
    }
    if (!local || !peer) {
      bad(`bad address "${!local ? (w[k + 3] ?? '') : (w[k + 4] ?? '')}"`)
      continue
    }
    const s: SsSocket = {line: lineNo, state, recvQ: Number(rq), sendQ: Number(sq), local, peer, markVisible: false, processes: []}
    if (netid !== undefined) s.netid = netid
    for (const x of w.slice(k + 5)) {
      const colon = x.indexOf(':')
      const key = colon < 0 ? x : x.slice(0, colon)
      const v = colon < 0 ? '' : x.slice(colon + 1)
      switch (key) {
        case 'users': {
          const p = processes(v)
          if (p) s.processes = p
          else bad(`bad users "${v}"`)
          break
        }
        case 'fwmark': {
          if (/^0x[0-9a-fA-F]{1,8}$/.test(v)) s.mark = parseInt(v.slice(2), 16)
          else bad(`bad fwmark "${v}"`)
          break
        }
        case 'ino':
        case 'uid': {
          if (!/^\d+$/.test(v)) bad(`bad ${key} "${v}"`)
          else if (key === 'ino') {
            s.inode = Number(v)
            s.markVisible = true
          }
          else s.uid = Number(v)
          break
        }
        case 'cgroup':
          s.cgroup = v
          break
        case 'v6only':
          s.v6only = v === '1'
          break
        case 'sk':
        case 'timer':
        case 'tos':
        case 'tclass':
        case 'class_id':
          break
        default:
          // the shutdown state (`<->`, `--<`, `<--`, `---`) has no key
          if (!/^[<-][-][->]$/.test(x)) bad(`unknown field "${x}"`)
      }
    }
    facts.push(s)
  }
  return {facts, problems}
}
