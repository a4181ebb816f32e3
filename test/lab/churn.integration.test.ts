// Inspection while the node changes under it: devices, qdiscs, tc filters and iptables rules come and go in a
// throwaway netns while hooks, marks and snapshot read it. Each run must end normally with a well-formed answer
// (a device that vanished between two probes is a warning, never a crash).
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cliAsync} from '../helpers/cli.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

const skipReason = liveSkipReason(['tc', 'iptables', 'bpftool']) ?? ''

/** One churn round: a veth pair with clsact and two filters, an iptables mark rule, then all of it removed. */
const CHURN = `
i=0
end=$(( $(date +%s) + 900 ))
while [ "$(date +%s)" -lt "$end" ]; do
  i=$((i + 1)); a="c$((i % 7))a"; b="c$((i % 7))b"
  ip link add "$a" type veth peer name "$b" 2>/dev/null
  ip link set "$a" up 2>/dev/null
  tc qdisc add dev "$a" clsact 2>/dev/null
  tc filter add dev "$a" ingress pref 10 u32 match u32 0 0 classid 1:1 2>/dev/null
  tc filter add dev "$a" egress pref 20 u32 match mark 0x100 0xf00 classid 1:2 2>/dev/null
  iptables -t mangle -A PREROUTING -i "$a" -j MARK --set-xmark 0x$((i % 16))00/0xf00 2>/dev/null
  iptables -t mangle -D PREROUTING -i "$a" -j MARK --set-xmark 0x$((i % 16))00/0xf00 2>/dev/null
  ip link del "$a" 2>/dev/null
done
`

describe.skipIf(skipReason !== '')(`inspection during device and rule churn (${skipReason || 'root, tools present'})`, () => {
  let ns: TestNetns
  let churn: ChildProcess

  beforeAll(async () => {
    ns = await createTestNetns('churn')
    // Two devices that stay, so every answer has something stable to show.
    await ns.sh(['ip', 'link', 'add', 'keep0', 'type', 'veth', 'peer', 'name', 'keep1'])
    await ns.sh(['tc', 'qdisc', 'add', 'dev', 'keep0', 'clsact'])
    await ns.sh(['tc', 'filter', 'add', 'dev', 'keep0', 'ingress', 'pref', '1', 'u32', 'match', 'mark', '0x200', '0xf00', 'classid', '1:1'])
    churn = spawn('nsenter', [`--net=${ns.path}`, '--', 'sh', '-c', CHURN], {stdio: 'ignore'})
  })

  afterAll(async () => {
    churn?.kill('SIGKILL')
    await ns?.close()
  })

  it('20 runs of hooks, marks and snapshot while it changes: no crash, every answer well-formed', async () => {
    const runs: Array<{args: string[]; status: number | null; stdout: string; stderr: string}> = []
    const kinds = [['hooks', '--json'], ['marks', '--json'], ['hooks'], ['snapshot']]
    for (let round = 0; round < 10; round++) {
      // Two at a time, so reads overlap each other as well as the churn.
      const batch = [kinds[(2 * round) % kinds.length]!, kinds[(2 * round + 1) % kinds.length]!].map((k) => [...k, '--netns', ns.name])
      const done = await Promise.all(batch.map(async (args) => ({args, ...(await cliAsync(args))})))
      runs.push(...done)
    }
    const rounds = spawnSync('nsenter', [`--net=${ns.path}`, '--', 'ip', '-o', 'link', 'show'], {encoding: 'utf8'})
    expect(rounds.status).toBe(0)
    expect(churn.exitCode, 'the churn loop was still running').toBeNull()
    const bad = runs.filter((r) => r.status !== 0 || /internal error|\n\s+at /.test(r.stderr))
    expect(bad.map((r) => `${r.args.join(' ')}: exit ${r.status}: ${r.stderr.slice(0, 300)}`)).toEqual([])
    for (const r of runs) {
      if (r.args.includes('--json') || r.args[0] === 'snapshot') expect(() => JSON.parse(r.stdout), r.args.join(' ')).not.toThrow()
      // The device that never changes is always in the answer.
      if (r.args[0] === 'hooks') expect(r.stdout, r.args.join(' ')).toContain('keep0')
    }
    expect(runs).toHaveLength(20)
  }, 600_000)
})
