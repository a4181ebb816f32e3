// A device name with a control character in it, on the real kernel. dev_valid_name() (net/core/dev.c) accepts
// $'a\x01b'; iproute2 and bpftool then print it raw inside their JSON, which used to make `hooks` answer
// "0 devices" with exit 0, hiding the programs of every device. Both devices and both programs must show.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

const skip = liveSkipReason(['tc', 'clang', 'bpftool'])
if (skip) console.warn(`test/commands/hooks-control-chars.test.ts: ${skip}`)

const ODD = 'a\u0001b'
const TINY_C = `#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int ni_tiny(struct __sk_buff *skb) { return TC_ACT_OK; }
char _license[] SEC("license") = "GPL";
`

describe.skipIf(!!skip)('hooks on a netns where one device name holds \\x01', () => {
  let ns: TestNetns
  const tmp = mkdtempSync(join(tmpdir(), 'ni-ctl-'))
  const progIds: Record<string, number> = {}

  beforeAll(async () => {
    ns = await createTestNetns('ctl')
    writeFileSync(join(tmp, 'tiny.c'), TINY_C)
    await ns.sh(['clang', '-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(tmp, 'tiny.c'), '-o', join(tmp, 'tiny.o')])
    await ns.sh(['ip', 'link', 'add', ODD, 'type', 'veth', 'peer', 'name', 'ni-p0'])
    await ns.sh(['ip', 'link', 'add', 'ni-n1', 'type', 'veth', 'peer', 'name', 'ni-p1'])
    for (const dev of [ODD, 'ni-n1']) {
      await ns.sh(['tc', 'qdisc', 'add', 'dev', dev, 'clsact'])
      await ns.sh(['tc', 'filter', 'add', 'dev', dev, 'ingress', 'bpf', 'da', 'obj', join(tmp, 'tiny.o'), 'sec', 'tc'])
      // The program id, from the kernel at run time (tc -j prints the name raw too, but not in this answer).
      const shown = JSON.parse((await ns.sh(['tc', '-j', 'filter', 'show', 'dev', dev, 'ingress'])).stdout) as Array<{options?: {prog?: {id: number}}}>
      progIds[dev] = shown.find((f) => f.options?.prog)!.options!.prog!.id
    }
    // What makes the bug: ip's JSON is not JSON (a raw U+0001 in a string).
    const raw = (await ns.sh(['ip', '-j', '-d', 'addr', 'show'])).stdout
    expect(raw).toContain(`"ifname":"${ODD}"`)
    expect(() => JSON.parse(raw)).toThrow()
  })

  afterAll(async () => {
    await ns?.close()
    rmSync(tmp, {recursive: true, force: true})
  })

  it('the table lists both devices and both programs, the odd name escaped', () => {
    const r = cli(['hooks', '--netns', ns.name])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).not.toContain('\u0001')
    expect(r.stdout).toMatch(/^5 devices, 2 with programs, 2 attachments of 2 programs/m)
    expect(r.stdout).toContain('\na\\x01b · ifindex ')
    expect(r.stdout).toContain('\nni-n1 · ifindex ')
    expect(r.stdout).toContain('\n  peer: ni-p0 in this netns')
    for (const id of Object.values(progIds)) expect(r.stdout).toContain(`id ${id} sched_cls ni_tiny`)
    expect(r.stdout).not.toMatch(/not valid JSON/)
  })

  type Doc = {devices: Array<{name: string; hooks: Array<{hook: string; progId: number; witnesses: string[]}>}>; warnings: Array<{message: string}>}
  const withProgs = (doc: Doc) => doc.devices.filter((d) => d.hooks.length > 0).map((d) => [d.name, d.hooks.map((h) => [h.hook, h.progId, h.witnesses])])

  it('--json keeps the real name, and tc saw the program on it', () => {
    const r = cli(['hooks', '--netns', ns.name, '--json'])
    expect(r.status).toBe(0)
    const doc = JSON.parse(r.stdout) as Doc
    expect(withProgs(doc)).toEqual([
      [ODD, [['tc-ingress', progIds[ODD], ['tc-filter']]]],
      ['ni-n1', [['tc-ingress', progIds['ni-n1'], ['tc-filter']]]],
    ])
    expect(doc.warnings).toEqual([])
  })

  it('without the helper, bpftool net is read too (its JSON holds the raw \\x01 as well), and saw the same programs', () => {
    const r = cli(['hooks', '--netns', ns.name, '--json'], {env: {NODEINSPECT_BPF_HELPER: join(tmp, 'no-such-helper')}})
    expect(r.status).toBe(0)
    const doc = JSON.parse(r.stdout) as Doc
    expect(withProgs(doc)).toEqual([
      [ODD, [['tc-ingress', progIds[ODD], ['bpftool-net', 'tc-filter']]]],
      ['ni-n1', [['tc-ingress', progIds['ni-n1'], ['bpftool-net', 'tc-filter']]]],
    ])
    expect(doc.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^tcx\/netkit attachments: the nodeinspect-bpf helper is not built/)])
  })
})
