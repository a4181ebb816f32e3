import {spawn, type ChildProcess} from 'node:child_process'
import {afterAll, describe, expect, it} from 'vitest'
import {ssMarksProbe, parseSsSockets, SS_MARKS_ARGV} from '../../src/probes/ss-marks.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'
import {createTestNetns, liveSkipReason, type TestNetns} from './netns-helpers.js'

// Hand-written in ss 6.1's format (see the live capture below for the real thing): trailing blanks as ss pads.
const LINES = [
  'udp   UNCONN 0      0            0.0.0.0:41641      0.0.0.0:*    users:(("tailscaled",pid=812,fd=17)) ino:23456 sk:9 fwmark:0x80000 cgroup:/system.slice/tailscaled.service <->         ',
  'udp   UNCONN 0      0                  *:51820            *:*    ino:7307 sk:2 fwmark:0xca6c v6only:0 <->',
  'tcp   ESTAB  0      0      [::ffff:10.0.0.1]:443 [::ffff:10.0.0.9]:51000 users:(("envoy",pid=1337,fd=40),("envoy",pid=1338,fd=41)) uid:1337 ino:99 sk:a fwmark:0x539 cgroup:/kubepods <->',
  'tcp   LISTEN 0      4096   127.0.0.53%lo:53          0.0.0.0:*    users:(("systemd-resolve",pid=600,fd=14)) uid:101 ino:2001 sk:b cgroup:/system.slice/systemd-resolved.service <->',
  'raw   UNCONN 0      0            *%eth0:58              *:*    users:(("cilium-agent",pid=2,fd=9)) ino:5 sk:c fwmark:0xd00 cgroup:/ v6only:1 ---',
  'LISTEN 0      128    127.0.0.1:4242    0.0.0.0:*    users:(("a (b) \\"c",pid=7,fd=3)) ino:1 sk:d fwmark:0x1 cgroup:/ <->',
].join('\n')

describe('parseSsSockets on hand-written lines', () => {
  const {facts, problems} = parseSsSockets(LINES)
  it('reads every line without problems', () => {
    expect(problems).toEqual([])
    expect(facts).toHaveLength(6)
  })
  it('tailscaled UDP with its bypass mark', () => {
    expect(facts[0]).toEqual({
      line: 1,
      netid: 'udp',
      state: 'UNCONN',
      recvQ: 0,
      sendQ: 0,
      local: {address: '0.0.0.0', port: '41641'},
      peer: {address: '0.0.0.0', port: '*'},
      mark: 0x80000,
      markVisible: true,
      processes: [{name: 'tailscaled', pid: 812, fd: 17}],
      inode: 23456,
      cgroup: '/system.slice/tailscaled.service',
    })
  })
  it('wildcard IPv6 socket without a process, v6only', () => {
    expect(facts[1]).toMatchObject({local: {address: '*', port: '51820'}, mark: 0xca6c, processes: [], v6only: false})
  })
  it('bracketed mapped IPv6, two owning processes, uid', () => {
    expect(facts[2]).toMatchObject({local: {address: '::ffff:10.0.0.1', port: '443'}, peer: {address: '::ffff:10.0.0.9', port: '51000'}, uid: 1337, mark: 0x539})
    expect(facts[2]!.processes.map((p) => p.pid)).toEqual([1337, 1338])
  })
  it('a device-bound address, and no fwmark field when the mark is zero', () => {
    expect(facts[3]).toMatchObject({local: {address: '127.0.0.53', port: '53', iface: 'lo'}})
    expect(facts[3]!.mark).toBeUndefined()
    expect(facts[4]).toMatchObject({netid: 'raw', local: {address: '*', port: '58', iface: 'eth0'}, mark: 0xd00, v6only: true})
  })
  it('no Netid column (a single socket type); a process name with blanks, parentheses and a quote', () => {
    expect(facts[5]!.netid).toBeUndefined()
    expect(facts[5]!.processes).toEqual([{name: 'a (b) \\"c', pid: 7, fd: 3}])
  })
  it('a socket ss read from /proc (no -e details) has an unknown mark, not zero', () => {
    const p = parseSsSockets('raw UNCONN 0      0           0.0.0.0:1       0.0.0.0:*     users:(("ping",pid=9,fd=3))   ')
    expect(p.problems).toEqual([])
    expect(p.facts[0]).toMatchObject({netid: 'raw', markVisible: false, processes: [{name: 'ping', pid: 9, fd: 3}]})
  })
  it('skips a header when ss ran without -H', () => {
    expect(parseSsSockets('Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n').facts).toEqual([])
  })
})

describe('malformed ss lines', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown state', 'tcp WAITING 0 0 1.2.3.4:1 5.6.7.8:2', /unknown socket state "WAITING"/],
    ['bad queue', 'tcp ESTAB x 0 1.2.3.4:1 5.6.7.8:2', /Recv-Q \/ Send-Q are not numbers/],
    ['bad address', 'tcp ESTAB 0 0 nowhere 5.6.7.8:2', /bad address "nowhere"/],
    ['bad fwmark', 'tcp ESTAB 0 0 1.2.3.4:1 5.6.7.8:2 fwmark:zz', /bad fwmark "zz"/],
    ['unknown field', 'tcp ESTAB 0 0 1.2.3.4:1 5.6.7.8:2 wobble:1', /unknown field "wobble:1"/],
    ['bad users', 'tcp ESTAB 0 0 1.2.3.4:1 5.6.7.8:2 users:(oops)', /bad users/],
  ]
  it.each(cases)('%s', (_n, line, message) => {
    expect(parseSsSockets(`\n${line}\n`).problems).toEqual([expect.objectContaining({line: 2, message: expect.stringMatching(message)})])
  })
})

describe('ssMarksProbe', () => {
  it('runs ss with the documented options', async () => {
    const seen: RunRequest[] = []
    const out: RawOutput = {argv: [], stdout: '', stderr: '', exitCode: 0, durationMs: 1}
    const src: Source = {meta: {kind: 'snapshot'}, run: async (req) => (seen.push(req), out)}
    await src.run(ssMarksProbe.request)
    expect(seen).toEqual([{argv: SS_MARKS_ARGV}])
  })
})

const skip = liveSkipReason(['ss', 'python3'])
if (skip) console.warn(`[ss-marks live] ${skip}`)

// Sockets with SO_MARK (36) in the throwaway netns; the process renames itself (comm) to test quoting.
const PY = `
import ctypes, socket, struct, time
ctypes.CDLL(None).prctl(15, b"ni mark(s) x", 0, 0, 0)
SO_MARK = 36
def mk(fam, typ, mark, proto=0):
    s = socket.socket(fam, typ, proto)
    if mark: s.setsockopt(socket.SOL_SOCKET, SO_MARK, struct.pack("I", mark))  # u32: an int above 2**31-1 is refused
    return s
l = mk(socket.AF_INET, socket.SOCK_STREAM, 0x80000); l.bind(("127.0.0.1", 4242)); l.listen()
c = mk(socket.AF_INET, socket.SOCK_STREAM, 0x200); c.connect(("127.0.0.1", 4242)); a, _ = l.accept()
u = mk(socket.AF_INET, socket.SOCK_DGRAM, 0x1e00); u.bind(("0.0.0.0", 51820))
u6 = mk(socket.AF_INET6, socket.SOCK_DGRAM, 0xca6c); u6.bind(("::", 5353))
v6 = mk(socket.AF_INET6, socket.SOCK_DGRAM, 0xd00); v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); v6.bind(("::1", 5354))
d = mk(socket.AF_INET, socket.SOCK_DGRAM, 0xffffffff); d.setsockopt(socket.SOL_SOCKET, 25, b"lo"); d.bind(("127.0.0.1", 5355))
r = mk(socket.AF_INET, socket.SOCK_RAW, 0xe00, socket.IPPROTO_ICMP)
n = mk(socket.AF_INET, socket.SOCK_DGRAM, 0); n.bind(("127.0.0.1", 5356))
print("ready", flush=True)
time.sleep(120)
`

describe.skipIf(skip !== undefined)('live: marked sockets of a real process in a throwaway netns', () => {
  let ns: TestNetns | undefined
  let proc: ChildProcess | undefined
  afterAll(async () => {
    if (proc?.pid !== undefined && proc.exitCode === null) proc.kill('SIGKILL')
    await ns?.close()
  })

  it('ss shows fwmark and the owning process for every marked socket', async () => {
    ns = await createTestNetns('ss')
    await ns.sh(['ip', 'link', 'set', 'lo', 'up'])
    proc = spawn('nsenter', [`--net=${ns.path}`, '--', 'python3', '-c', PY], {stdio: ['ignore', 'pipe', 'pipe']})
    let err = ''
    proc.stderr?.on('data', (b: Buffer) => (err += b.toString()))
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`python did not start: ${err}`)), 15_000)
      proc!.stdout?.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) {
          clearTimeout(t)
          resolve()
        }
      })
      proc!.on('exit', (code) => reject(new Error(`python exited ${code}: ${err}`)))
    })
    const out = await ns.source.run(ssMarksProbe.request)
    expect(out.failure).toBeUndefined()
    console.log(`[ss-marks live] ss output:\n${out.stdout}`)
    const {facts, problems} = parseSsSockets(out.stdout)
    expect(problems).toEqual([])
    const pid = proc.pid!
    const own = facts.filter((s) => s.processes.some((p) => p.pid === pid))
    // ss 6.1 reads the name from /proc/PID/stat with fscanf("%*d (%[^)])"): a comm is cut at its first ')'
    expect(own.every((s) => s.processes[0]!.name === 'ni mark(s')).toBe(true)
    const by = (netid: string, port: string) => own.filter((s) => s.netid === netid && s.local.port === port)
    expect(by('tcp', '4242').map((s) => [s.state, s.mark])).toEqual([['LISTEN', 0x80000], ['ESTAB', 0x80000]])
    expect(own.find((s) => s.netid === 'tcp' && s.peer.port === '4242')).toMatchObject({state: 'ESTAB', mark: 0x200})
    expect(by('udp', '51820')[0]).toMatchObject({local: {address: '0.0.0.0'}, mark: 0x1e00})
    expect(by('udp', '5353')[0]).toMatchObject({local: {address: '*'}, mark: 0xca6c, v6only: false})
    expect(by('udp', '5354')[0]).toMatchObject({local: {address: '::1'}, mark: 0xd00, v6only: true})
    expect(by('udp', '5355')[0]).toMatchObject({local: {address: '127.0.0.1', iface: 'lo'}, mark: 0xffffffff})
    const raw = own.find((s) => s.netid === 'raw')!
    expect(raw.markVisible).toBe(raw.inode !== undefined)
    if (raw.inode === undefined)
      // without CONFIG_INET_RAW_DIAG ss lists raw sockets from /proc/net/raw: no ino, no fwmark, whatever SO_MARK says
      console.warn('[ss-marks live] raw sockets come from /proc/net/raw here (no raw_diag): their SO_MARK is invisible to ss')
    else expect(raw.mark).toBe(0xe00)
    expect(by('udp', '5356')[0]!.mark).toBeUndefined()
  })
})
