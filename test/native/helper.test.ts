// The native helper against the real kernel: tcx-attach a tiny classifier in a throwaway netns, then
// `query` must report exactly that program and link on that device and direction.
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import {mountsAt} from '../../src/lab/teardown.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {runCommand} from '../../src/source/run-command.js'

const helper = bpfHelperPath()
const pre = checkLabPrerequisites(['ip', 'bpftool', 'clang', 'nsenter', 'mount', 'umount'])
const skipReason = !pre.ok ? pre.reason : !existsSync(helper) ? `no helper binary at ${helper} (run: make -C native)` : ''
if (skipReason) console.warn(`test/native/helper.test.ts: skipping the kernel tests: ${skipReason}`)

const ns = `ni-t${process.pid}-native`
const base = `/run/nodeinspect-test-${process.pid}`
const bpffs = `${base}/bpffs`

async function run(file: string, args: string[]) {
  return runCommand({file, args, logicalArgv: [file, ...args], timeoutMs: 20_000})
}

async function must(file: string, args: string[]): Promise<string> {
  const r = await run(file, args)
  if (r.failure) throw new Error(r.message)
  return r.stdout
}

/** The helper inside the test netns. */
function helperIn(...args: string[]) {
  return run('nsenter', [`--net=/run/netns/${ns}`, '--', helper, ...args])
}

interface Query {
  helper: string
  version: number
  queried: number
  tcx_supported: boolean
  netkit_supported: boolean
  attachments: Array<{ifindex: number; devname: string; attach_type: string; revision: number; progs: Array<{prog_id: number; link_id: number; prog_flags: number; link_flags: number}>}>
  errors: unknown[]
}

const TINY_C = `#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int ni_tiny(struct __sk_buff *skb) { return TC_ACT_OK; }
char _license[] SEC("license") = "GPL";
`

const FLOW_DISSECTOR_C = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("flow_dissector") int ni_fd(struct __sk_buff *skb) { return BPF_OK; }
char _license[] SEC("license") = "GPL";
`

/** Leftovers of crashed earlier runs of this file (their pid is gone). */
async function sweepStale(): Promise<void> {
  for (const d of readdirSync('/run')) {
    const m = /^nodeinspect-test-(\d+)$/.exec(d)
    if (!m || existsSync(`/proc/${m[1]}`)) continue
    if (mountsAt(`/run/${d}/bpffs`) > 0) await run('umount', [`/run/${d}/bpffs`])
    if (mountsAt(`/run/${d}/bpffs`) === 0) rmSync(`/run/${d}`, {recursive: true, force: true})
  }
}

describe.skipIf(skipReason !== '')(`nodeinspect-bpf on the kernel (${skipReason || 'root, clang, bpftool, helper built'})`, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ni-native-'))
  const pins = {p1: `${bpffs}/p1`, p2: `${bpffs}/p2`}
  const ids = {p1: 0, p2: 0}

  beforeAll(async () => {
    await sweepStale()
    mkdirSync(bpffs, {recursive: true})
    await must('mount', ['-t', 'bpf', 'bpf', bpffs])
    await must('ip', ['netns', 'add', ns])
    await must('ip', ['-n', ns, 'link', 'add', 'ni-a', 'type', 'veth', 'peer', 'name', 'ni-b'])
    await must('ip', ['-n', ns, 'link', 'set', 'ni-a', 'up'])
    await must('ip', ['-n', ns, 'link', 'set', 'ni-b', 'up'])
    writeFileSync(join(tmp, 'tiny.c'), TINY_C)
    await must('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(tmp, 'tiny.c'), '-o', join(tmp, 'tiny.o')])
    for (const k of ['p1', 'p2'] as const) {
      await must('bpftool', ['prog', 'load', join(tmp, 'tiny.o'), pins[k], 'type', 'classifier'])
      ids[k] = (JSON.parse(await must('bpftool', ['-j', 'prog', 'show', 'pinned', pins[k]])) as {id: number}).id
    }
  })

  afterAll(async () => {
    await run('ip', ['netns', 'del', ns])
    // Unmounting the bpffs frees the pinned programs and tcx links (they outlive the netns otherwise).
    if (mountsAt(bpffs) > 0) await run('umount', [bpffs])
    if (mountsAt(bpffs) === 0) rmSync(base, {recursive: true, force: true})
    rmSync(tmp, {recursive: true, force: true})
  })

  it('version prints one JSON object', async () => {
    const r = await run(helper, ['version'])
    expect(r.exitCode).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({helper: 'nodeinspect-bpf', version: 1})
  })

  it('query on a netns without tcx programs lists every device and no attachment', async () => {
    const r = await helperIn('query')
    expect(r.exitCode).toBe(0)
    const q = JSON.parse(r.stdout) as Query
    expect(q).toMatchObject({helper: 'nodeinspect-bpf', version: 1, queried: 3, tcx_supported: true, attachments: [], errors: []})
    expect(typeof q.netkit_supported).toBe('boolean')
  })

  it('tcx-attach pins a link, and query shows exactly that program and link on that device and direction', async () => {
    const r = await helperIn('tcx-attach', '--prog-pin', pins.p1, '--dev', 'ni-a', '--dir', 'ingress', '--link-pin', `${bpffs}/link-a-in`)
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    const made = JSON.parse(r.stdout) as {prog_id: number; link_id: number; ifindex: number; attach_type: string}
    const ifindex = (JSON.parse(await must('ip', ['-n', ns, '-j', 'link', 'show', 'ni-a'])) as Array<{ifindex: number}>)[0]!.ifindex
    expect(made).toEqual({prog_id: ids.p1, link_id: expect.any(Number), ifindex, attach_type: 'tcx_ingress'})

    // The helper has exited: the pinned link keeps the attachment.
    const q = JSON.parse((await helperIn('query')).stdout) as Query
    expect(q.errors).toEqual([])
    expect(q.attachments).toEqual([
      {ifindex, devname: 'ni-a', attach_type: 'tcx_ingress', revision: expect.any(Number), progs: [{prog_id: ids.p1, link_id: made.link_id, prog_flags: 0, link_flags: 0}]},
    ])
    // Debian's tools cannot see it (docs/kernel-notes.md#kn-3-tcx-invisible-to-debian-tools): the reason the helper exists.
    expect(JSON.parse(await must('nsenter', [`--net=/run/netns/${ns}`, 'tc', '-j', 'filter', 'show', 'dev', 'ni-a', 'ingress']))).toEqual([])
  })

  it('--first puts a program before the others: query lists them in execution order', async () => {
    const r = await helperIn('tcx-attach', '--prog-pin', pins.p2, '--dev', 'ni-a', '--dir', 'ingress', '--link-pin', `${bpffs}/link-a-in-2`, '--first')
    expect(r.exitCode).toBe(0)
    const q = JSON.parse((await helperIn('query', '--dev', 'ni-a')).stdout) as Query
    expect(q.queried).toBe(1)
    expect(q.attachments).toHaveLength(1)
    expect(q.attachments[0]!.progs.map((p) => p.prog_id)).toEqual([ids.p2, ids.p1])
    // --dev limits the query: the peer has nothing.
    const qb = JSON.parse((await helperIn('query', '--dev', 'ni-b')).stdout) as Query
    expect(qb).toMatchObject({queried: 1, attachments: [], errors: []})
  })

  it('--before-prog-id on egress: placed relative to a program id', async () => {
    expect((await helperIn('tcx-attach', '--prog-pin', pins.p1, '--dev', 'ni-b', '--dir', 'egress', '--link-pin', `${bpffs}/link-b-out`)).exitCode).toBe(0)
    expect((await helperIn('tcx-attach', '--prog-pin', pins.p2, '--dev', 'ni-b', '--dir', 'egress', '--link-pin', `${bpffs}/link-b-out-2`, '--before-prog-id', String(ids.p1))).exitCode).toBe(0)
    const q = JSON.parse((await helperIn('query', '--dev', 'ni-b')).stdout) as Query
    expect(q.attachments.map((a) => [a.devname, a.attach_type, a.progs.map((p) => p.prog_id)])).toEqual([['ni-b', 'tcx_egress', [ids.p2, ids.p1]]])
  })

  it("query reports the netns's flow dissector (BPF_PROG_QUERY on the netns), which only bpftool net read before", async () => {
    const before = JSON.parse((await helperIn('query')).stdout) as Query & {flow_dissector: unknown}
    expect(before.flow_dissector).toEqual({supported: true, progs: []})
    writeFileSync(join(tmp, 'fd.c'), FLOW_DISSECTOR_C)
    await must('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(tmp, 'fd.c'), '-o', join(tmp, 'fd.o')])
    await must('bpftool', ['prog', 'load', join(tmp, 'fd.o'), `${bpffs}/fd`, 'type', 'flow_dissector'])
    const id = (JSON.parse(await must('bpftool', ['-j', 'prog', 'show', 'pinned', `${bpffs}/fd`])) as {id: number}).id
    // BPF_PROG_ATTACH of a flow dissector goes to the caller's netns (kernel/bpf/net_namespace.c); bpftool passes no target.
    await must('nsenter', [`--net=/run/netns/${ns}`, '--', 'bpftool', 'prog', 'attach', 'pinned', `${bpffs}/fd`, 'flow_dissector'])
    const after = JSON.parse((await helperIn('query')).stdout) as Query & {flow_dissector: unknown}
    expect(after.flow_dissector).toEqual({supported: true, progs: [{prog_id: id}]})
    expect(after.errors).toEqual([])
    // Only this netns's: the host's own is not it.
    expect((JSON.parse(await must(helper, ['query'])) as {flow_dissector: {progs: Array<{prog_id: number}>}}).flow_dissector.progs).not.toContainEqual({prog_id: id})
  })

  it('errors: one line on stderr, {"error"} on stdout, exit 1 (2 for usage)', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['tcx-attach', '--prog-pin', `${bpffs}/none`, '--dev', 'ni-a', '--dir', 'ingress', '--link-pin', `${bpffs}/x`], 1, /BPF_OBJ_GET .*none: No such file or directory/],
      [['tcx-attach', '--prog-pin', pins.p1, '--dev', 'nope0', '--dir', 'ingress', '--link-pin', `${bpffs}/x`], 1, /no such device 'nope0'/],
      [['tcx-attach', '--prog-pin', pins.p1, '--dev', 'ni-a', '--dir', 'sideways', '--link-pin', `${bpffs}/x`], 2, /--dir must be ingress or egress/],
      [['tcx-attach', '--prog-pin', pins.p1, '--dev', 'ni-a', '--dir', 'ingress', '--link-pin', `${bpffs}/x`, '--first', '--last'], 2, /at most one of/],
      [['query', '--dev', 'nope0'], 1, /no such device 'nope0'/],
      [['frobnicate'], 2, /unknown subcommand 'frobnicate'/],
    ]
    for (const [args, exit, re] of cases) {
      const r = await helperIn(...args)
      expect(r.exitCode, args.join(' ')).toBe(exit)
      expect((JSON.parse(r.stdout) as {error: string}).error).toMatch(re)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/^nodeinspect-bpf: /)
    }
  })
})
