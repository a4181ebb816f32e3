// What `hooks` says when tools are missing or their output is unreadable: a partial answer with warnings, or,
// when nothing could be read, no answer at all (hooksUnreadable), never "0 devices".
import {describe, expect, it} from 'vitest'
import {analyseHooks, hooksUnreadable} from '../../src/analyses/hooks.js'
import {buildNodeState} from '../../src/state/build.js'
import {collectHooksFacts} from '../../src/state/hooks.js'
import {loadSnapshot, SnapshotSource} from '../../src/source/snapshot.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'

const FILE = 'testdata/reference/node2.json'

/** The reference node 2, with some tools missing and some outputs replaced. */
async function nodeWith(opts: {missing?: string[]; stdout?: Record<string, string>}): Promise<Source> {
  const snap = new SnapshotSource(await loadSnapshot(FILE), FILE)
  return {
    meta: snap.meta,
    async run(req: RunRequest): Promise<RawOutput> {
      const tool = req.argv[0]!
      if (opts.missing?.includes(tool)) {
        return {argv: [...req.argv], stdout: '', stderr: '', exitCode: null, durationMs: 0, failure: 'missing-binary', message: `${req.argv.join(' ')}: ${tool} is not installed (not found in PATH)`}
      }
      const out = await snap.run(req)
      const key = req.argv.join(' ')
      return opts.stdout?.[key] !== undefined ? {...out, stdout: opts.stdout[key]!} : out
    },
  }
}

describe('hooks: partial and total failure', () => {
  it('everything readable: an answer', async () => {
    const inputs = await collectHooksFacts(await nodeWith({}))
    expect(inputs.readable).toEqual({
      deviceList: 'ip',
      attachmentSources: [{probe: 'bpftool -j net show'}, {probe: 'tc -j -batch (filter show)'}, {probe: 'nodeinspect-bpf query'}],
      programList: {probe: 'bpftool -j prog show'},
    })
    expect(hooksUnreadable(inputs.readable)).toBeUndefined()
  })

  it('ip missing: the devices bpftool named, said to be incomplete (partial, not "0 devices")', async () => {
    const state = await buildNodeState(await nodeWith({missing: ['ip']}), {hooks: true})
    const inputs = state.hooks
    expect(inputs.readable.deviceList).toBe('other-probes')
    expect(hooksUnreadable(inputs.readable)).toBeUndefined()
    const r = analyseHooks(state)
    expect(r.devices.length).toBeGreaterThan(0)
    expect(r.devices.every((d) => d.hooks.length > 0)).toBe(true)
    expect(r.deviceListIncomplete).toMatch(/^ip could not list the devices \(ip -j -d addr show: ip is not installed.*only devices that bpftool or the nodeinspect-bpf helper found programs on are shown$/)
  })

  it('ip output unreadable (truncated JSON): the same fallback, with the parse error as the reason', async () => {
    const inputs = await collectHooksFacts(await nodeWith({stdout: {'ip -j -d addr show': '[{"ifindex":1,"ifname":"lo"'}}))
    expect(inputs.readable.deviceList).toBe('other-probes')
    expect(inputs.readable.deviceListFailure).toMatch(/not valid JSON/)
  })

  it('ip, bpftool and the helper missing: no device list at all, and why', async () => {
    const inputs = await collectHooksFacts(await nodeWith({missing: ['ip', 'bpftool', 'nodeinspect-bpf']}))
    const why = hooksUnreadable(inputs.readable)
    expect(why).toBe(
      'no device list could be read: ip -j -d addr show: ip is not installed (not found in PATH); bpftool -j net show: bpftool is not installed (not found in PATH); ' +
        'tc filter show: not run (no device to ask about); nodeinspect-bpf query: nodeinspect-bpf is not installed (not found in PATH)',
    )
  })

  it('devices listed but bpftool, tc and the helper all missing: "no program" would be a guess, so no answer', async () => {
    const inputs = await collectHooksFacts(await nodeWith({missing: ['bpftool', 'tc', 'nodeinspect-bpf']}))
    expect(inputs.readable.deviceList).toBe('ip')
    expect(hooksUnreadable(inputs.readable)).toBe(
      'no source of tc/tcx attachments could be read: bpftool -j net show: bpftool is not installed (not found in PATH); tc -j -force -batch -: tc is not installed (not found in PATH); ' +
        'nodeinspect-bpf query: nodeinspect-bpf is not installed (not found in PATH)',
    )
  })

  it('one attachment source left (tc): a partial answer', async () => {
    const inputs = await collectHooksFacts(await nodeWith({missing: ['bpftool', 'nodeinspect-bpf']}))
    expect(hooksUnreadable(inputs.readable)).toBeUndefined()
    expect(inputs.readable.attachmentSources.filter((s) => s.failure).map((s) => s.probe)).toEqual(['bpftool -j net show', 'nodeinspect-bpf query'])
  })
})
