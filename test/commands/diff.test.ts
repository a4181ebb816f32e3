// `nodeinspect diff` on two snapshots recorded from the live lab's node 1 (testdata/snapshots/diff-lab-*.json.gz),
// before and after three real changes made in its netns: eth0's tc egress program replaced (to-netdev by
// from-netdev of the same object), `iptables -t mangle -I PREROUTING -j MARK --set-mark 0x1337`, and
// `ip route del 10.42.0.0/24`. test/lab/diff.integration.test.ts makes them live.
import {describe, expect, it} from 'vitest'
import type {DiffReport} from '../../src/analyses/diff/diff.js'
import {cli, expectFailure} from '../helpers/cli.js'
import {changeLines} from '../helpers/diff.js'
import {golden} from '../helpers/fixtures.js'

const BEFORE = 'testdata/snapshots/diff-lab-before.json.gz'
const AFTER = 'testdata/snapshots/diff-lab-after.json.gz'
const FLOW = ['--flow', '10.42.1.80', '10.42.0.51:80']

function diffJson(args: string[]): DiffReport {
  const r = cli(['diff', ...args, '--json'])
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  return JSON.parse(r.stdout) as DiffReport
}

const EXPECTED_LAB_CHANGES = [
  'hook replaced eth0 tc-egress: bpf_netdev_eth0.o:[to-netdev] (e629f55ceababae6) → bpf_netdev_eth0.o:[from-netdev] (140f7f279141fcb1)',
  'mark use added: iptables iptables mangle PREROUTING #1: -j MARK packet set-xmark 0x1337/0xffffffff',
  'finding appeared: whole-mark-clobber',
  'rule added: iptables mangle/PREROUTING: -A PREROUTING -j MARK --set-xmark 0x1337/0xffffffff',
  'route removed: ipv4 main: 10.42.0.0/24 via 10.42.0.247 dev cilium_vxlan',
]

describe('nodeinspect diff on recorded lab snapshots (issue 11)', () => {
  it('--json names exactly the three changes (the mark use and the finding the rule brings), nothing else', () => {
    const r = diffJson([BEFORE, AFTER])
    expect(r.schema).toBe('nodeinspect.diff/v1')
    expect(changeLines(r)).toEqual(EXPECTED_LAB_CHANGES)
    expect(r.summary).toEqual({changes: 5, hooks: 1, markUses: 1, findings: 1, rules: 1, routes: 1, ipRules: 0, cilium: 0})
    expect(r.findings.appeared[0]).toMatchObject({severity: 'high', message: expect.stringContaining('0x1337/0xffffffff')})
    expect(r.unreadOnOneSide).toEqual([])
    expect(r.path).toBeUndefined()
  })

  it('a snapshot against itself: no change at all (ids, counters and times never count)', () => {
    const r = diffJson([BEFORE, BEFORE, ...FLOW])
    expect(changeLines(r)).toEqual([])
    expect(r.summary.changes).toBe(0)
    expect(r.path?.same).toBe(true)
  })

  it('--flow: the first differing step (the clobbering rule at prerouting) and both outcomes', () => {
    const r = diffJson([BEFORE, AFTER, ...FLOW])
    expect(r.flow).toMatchObject({src: '10.42.1.80', dst: '10.42.0.51', dport: 80, proto: 'tcp'})
    expect(r.summary.pathDiffers).toBe(true)
    expect(r.path?.firstDifference?.step).toBe(3)
    expect(r.path?.firstDifference?.before).toMatchObject({where: 'lxc48c4aa0637ce · netfilter prerouting', mark: 0})
    expect(r.path?.firstDifference?.after).toMatchObject({where: 'lxc48c4aa0637ce · netfilter prerouting', mark: 0x1337, what: expect.stringContaining('MARK --set-xmark 0x1337/0xffffffff')})
    expect(r.path?.before.kind).toBe('left-node')
    expect(r.path?.after).toMatchObject({kind: 'dropped', text: expect.stringContaining('no route for 10.42.0.51')})
    expect(r.cilium).toEqual([])
  })

  it('text: a line per change, the path difference (golden)', async () => {
    const r = cli(['diff', BEFORE, AFTER, ...FLOW], {env: {COLUMNS: '120'}})
    expect(r.status).toBe(0)
    await expect(r.stdout).toMatchFileSnapshot(golden('diff/lab-before-after.txt'))
  })

  const bad: Array<[string, string[], string]> = [
    ['no second reading', [BEFORE], 'missing the second reading: a second snapshot (diff BEFORE AFTER), or --netns NAME (or --live) for the node now'],
    ['a second snapshot and --netns', [BEFORE, AFTER, '--netns', 'x'], 'give a second snapshot or --netns, not both: "testdata/snapshots/diff-lab-after.json.gz" and the node now'],
    ['a --flow of one word', [BEFORE, AFTER, '--flow', '10.42.1.80'], 'invalid --flow "10.42.1.80": expected SRC DST[:PORT], two words, e.g. --flow 10.42.1.80 10.42.0.51:80 (give the snapshots first: --flow takes the words after it)'],
    ['--proto without --flow', [BEFORE, AFTER, '--proto', 'udp'], '--proto, --sport and --mark describe the flow: give --flow SRC DST[:PORT] too'],
    ['a missing snapshot', [BEFORE, 'testdata/none.json'], 'snapshot testdata/none.json: cannot read it (no such file)'],
  ]
  for (const [name, args, line] of bad) {
    it(`refuses ${name} in one line, and as {"error"} under --json`, () => {
      expectFailure(cli(['diff', ...args]), ['diff', ...args], 2, line)
      const j = ['diff', ...args, '--json']
      expectFailure(cli(j), j, 2, line)
    })
  }
})
