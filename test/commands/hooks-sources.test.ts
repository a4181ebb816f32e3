// `hooks` on the real kernel, one program on each hook that other tools than bpftool net read: clsact (tc),
// XDP (ip, IFLA_XDP) and the netns's flow dissector (the nodeinspect-bpf helper). hooks does not run bpftool
// net when those answered; bpftool 7.1 printed the flow dissector as `"flow_dissector":["id":N]`, not JSON, so
// hooks showed no flow dissector and warned that bpftool net was unreadable.
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {bpfLoadSkipReason, mountTestBpffs, type TestBpffs} from '../helpers/bpffs.js'
import {cli} from '../helpers/cli.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

const skip = bpfLoadSkipReason() || liveSkipReason(['tc']) || (existsSync(bpfHelperPath()) ? '' : `no helper binary at ${bpfHelperPath()} (run: make -C native)`)
if (skip) console.warn(`test/commands/hooks-sources.test.ts: ${skip}`)

const PROGS_C = `#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int ni_tc(struct __sk_buff *skb) { return TC_ACT_OK; }
SEC("xdp") int ni_xdp(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";
`
/** Its own object: `bpftool prog load` loads an object's first program only. */
const FLOW_DISSECTOR_C = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("flow_dissector") int ni_fd(struct __sk_buff *skb) { return BPF_OK; }
char _license[] SEC("license") = "GPL";
`

interface Doc {
  devices: Array<{name: string; hooks: Array<{hook: string; progId: number; xdpMode?: string; witnesses: string[]; program?: {name?: string}}>}>
  flowDissector: Array<{progId: number; program?: {name?: string}}>
  warnings: unknown[]
}

describe.skipIf(!!skip)('hooks reads clsact, XDP and the flow dissector without bpftool net', () => {
  let ns: TestNetns
  let fs: TestBpffs
  const tmp = mkdtempSync(join(tmpdir(), 'ni-hooks-src-'))

  beforeAll(async () => {
    fs = await mountTestBpffs('-hooks-src')
    ns = await createTestNetns('hsrc')
    const obj = join(tmp, 'progs.o')
    const fdObj = join(tmp, 'fd.o')
    for (const [src, o] of [[PROGS_C, obj], [FLOW_DISSECTOR_C, fdObj]] as const) {
      writeFileSync(`${o}.c`, src)
      await ns.sh(['clang', '-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', `${o}.c`, '-o', o])
    }
    await ns.sh(['ip', 'link', 'add', 'ni-h0', 'type', 'veth', 'peer', 'name', 'ni-h1'])
    await ns.sh(['ip', 'link', 'set', 'ni-h0', 'xdpgeneric', 'obj', obj, 'sec', 'xdp'])
    await ns.sh(['tc', 'qdisc', 'add', 'dev', 'ni-h1', 'clsact'])
    await ns.sh(['tc', 'filter', 'add', 'dev', 'ni-h1', 'egress', 'bpf', 'da', 'obj', obj, 'sec', 'tc'])
    // BPF_PROG_ATTACH of a flow dissector goes to the caller's netns (kernel/bpf/net_namespace.c).
    await ns.sh(['bpftool', 'prog', 'load', fdObj, `${fs.path}/fd`, 'type', 'flow_dissector'])
    await ns.sh(['bpftool', 'prog', 'attach', 'pinned', `${fs.path}/fd`, 'flow_dissector'])
  })

  afterAll(async () => {
    await ns?.close()
    await fs?.unmount()
    rmSync(tmp, {recursive: true, force: true})
  })

  it('--json: each program on its hook, with the tool that read it, the flow dissector, and no warning', () => {
    const r = cli(['hooks', '--netns', ns.name, '--json'])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const doc = JSON.parse(r.stdout) as Doc
    const shown = doc.devices
      .filter((d) => d.hooks.length > 0)
      .map((d) => [d.name, d.hooks.map((h) => [h.hook, h.program?.name, h.xdpMode, h.witnesses])])
      .sort(([a], [b]) => String(a).localeCompare(String(b)))
    expect(shown).toEqual([
      ['ni-h0', [['xdp', 'ni_xdp', 'generic', ['ip-link']]]],
      ['ni-h1', [['tc-egress', 'ni_tc', undefined, ['tc-filter']]]],
    ])
    expect(doc.flowDissector).toEqual([{progId: expect.any(Number), program: expect.objectContaining({name: 'ni_fd', type: 'flow_dissector'})}])
    expect(doc.warnings).toEqual([])
  })

  it('the table names the flow dissector', () => {
    const r = cli(['hooks', '--netns', ns.name])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^flow dissector: id \d+ ni_fd$/m)
    expect(r.stdout).not.toMatch(/^warning:/m)
  })
})
