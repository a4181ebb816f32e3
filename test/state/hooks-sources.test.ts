// Which commands `hooks` runs to read a node's attachments, and when: tc's batch starts as soon as ip has listed
// the devices, and `bpftool -j net show` (~0.7 s of kernel time at 1,000 devices) runs only for what tc, ip and
// the nodeinspect-bpf helper could not read.
import {describe, expect, it} from 'vitest'
import {analyseHooks} from '../../src/analyses/hooks.js'
import {hooksOnlyState} from '../../src/model/node-state.js'
import {mergeAttachments} from '../../src/state/attachments.js'
import {bpftoolNetNeeded, collectHooksFacts} from '../../src/state/hooks.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'

const LINKS = [
  {ifindex: 1, ifname: 'lo', link_type: 'loopback', flags: ['LOOPBACK', 'UP']},
  {ifindex: 2, ifname: 'eth0', link_type: 'ether', flags: ['UP'], xdp: {mode: 1, prog: {id: 9}, attached: [{mode: 1, prog: {id: 9}}]}},
]
const TC_FILTER = '[{"protocol":"all","pref":1,"kind":"bpf","chain":0},{"protocol":"all","pref":1,"kind":"bpf","chain":0,"options":{"handle":"0x1","bpf_name":"bpf_netdev_eth0.o:[from-netdev]","direct-action":true,"prog":{"id":5,"name":"from_netdev","tag":"aa","jited":1}}}]'
const HELPER = {helper: 'nodeinspect-bpf', version: 1, queried: 2, tcx_supported: true, netkit_supported: false, flow_dissector: {supported: true, progs: [{prog_id: 7}]}, attachments: [{ifindex: 2, devname: 'eth0', attach_type: 'tcx_ingress', revision: 2, progs: [{prog_id: 11, link_id: 3}]}], errors: []}
const BPFTOOL_NET = [{xdp: [{devname: 'eth0', ifindex: 2, mode: 'driver', id: 9}], tc: [{devname: 'eth0', ifindex: 2, kind: 'clsact/ingress', name: 'bpf_netdev_eth0.o:[from-netdev]', id: 5}], flow_dissector: []}]

/** What each command prints on this node, by command line; tc's batch answers in the order it was asked. */
function answers(links: ReadonlyArray<{ifname: string}> = LINKS): Record<string, string> {
  return {
    'ip -j -d addr show': JSON.stringify(links),
    'bpftool -j net show': JSON.stringify(BPFTOOL_NET),
    'bpftool -j prog show': '[]',
    'bpftool -j link show': '[]',
    'nodeinspect-bpf query': JSON.stringify(HELPER),
    'ip -j netns list-id': '[]',
    'ip -j -4 route show table all': '[]',
    'ip -j -6 route show table all': '[]',
    'ip -j neigh show': '[]',
  }
}

interface FakeNode {
  source: Source
  /** Command lines in the order they were asked for. */
  asked: string[]
}

/** A node whose commands answer from `out` (tc from its batch input); `missing` tools are not installed; `hold` delays answers. */
function fakeNode(opts: {out?: Record<string, string>; missing?: string[]; hold?: (line: string) => Promise<void> | undefined} = {}): FakeNode {
  const out = opts.out ?? answers()
  const asked: string[] = []
  const source: Source = {
    meta: {kind: 'live'},
    async run(req: RunRequest): Promise<RawOutput> {
      const line = req.argv.join(' ')
      asked.push(line)
      await opts.hold?.(line)
      const base = {argv: [...req.argv], stderr: '', durationMs: 0, ...(req.input !== undefined ? {input: req.input} : {})}
      if (opts.missing?.includes(req.argv[0]!)) return {...base, stdout: '', exitCode: null, failure: 'missing-binary', message: `${line}: ${req.argv[0]} is not installed (not found in PATH)`}
      if (req.argv[0] === 'tc') {
        const lines = (req.input ?? '').split('\n').filter(Boolean)
        return {...base, stdout: lines.map((l) => (l === 'filter show dev eth0 ingress' ? TC_FILTER : '[]')).join('\n'), exitCode: 0}
      }
      const stdout = out[line]
      if (stdout === undefined) throw new Error(`the fake node was asked an unexpected command: ${line}`)
      return {...base, stdout, exitCode: 0}
    },
  }
  return {source, asked}
}

const NET = 'bpftool -j net show'
const TC = 'tc -j -force -batch -'

describe('hooks: which commands read the attachments', () => {
  it('everything read: no bpftool net; clsact from tc, XDP from ip, tcx and the flow dissector from the helper', async () => {
    const node = fakeNode()
    const facts = await collectHooksFacts(node.source)
    expect(node.asked).not.toContain(NET)
    expect(node.asked).toContain(TC)
    expect(facts.warnings).toEqual([])
    expect(facts.readable.attachmentSources).toEqual([{probe: 'tc -j -batch (filter show)'}, {probe: 'nodeinspect-bpf query'}])
    const r = analyseHooks(hooksOnlyState('n', node.source.meta, facts, mergeAttachments(facts)))
    const eth0 = r.devices.find((d) => d.name === 'eth0')!
    expect(eth0.hooks.map((h) => [h.hook, h.progId, h.witnesses])).toEqual([
      ['xdp', 9, ['ip-link']],
      ['tcx-ingress', 11, ['bpf-helper']],
      ['tc-ingress', 5, ['tc-filter']],
    ])
    expect(eth0.hooks[2]).toMatchObject({object: 'bpf_netdev_eth0.o', section: 'from-netdev', tc: {pref: 1, handle: '0x1', directAction: true}})
    expect(r.flowDissector).toEqual([{progId: 7}])
    expect(r.tcxVisibility).toEqual({helper: 'ok', kernelHasTcx: true, bpftoolShowsTcx: false, unplacedTcxLinks: 0})
  })

  it("tc's batch starts once ip has answered, while the other probes are still running", async () => {
    let tcAsked!: () => void
    const tcAskedP = new Promise<void>((resolve) => (tcAsked = resolve))
    // Every probe but ip answers only after tc was asked: waiting for them before tc would never finish.
    const node = fakeNode({
      hold: (line) => {
        if (line === TC) tcAsked()
        return line === TC || line === 'ip -j -d addr show' ? undefined : tcAskedP
      },
    })
    const deadlock = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('tc waited for the other probes')), 5000).unref())
    const facts = await Promise.race([collectHooksFacts(node.source), deadlock])
    expect(facts.tc.bpf.map((a) => a.progId)).toEqual([5])
  })

  describe('bpftool net is read for what the others could not read', () => {
    const cases: Array<[string, Parameters<typeof fakeNode>[0]]> = [
      ['the helper is not installed (tcx, netkit, flow dissector)', {missing: ['nodeinspect-bpf']}],
      ['the helper is older than its flow-dissector query (a snapshot of one)', {out: {...answers(), 'nodeinspect-bpf query': JSON.stringify({...HELPER, flow_dissector: undefined})}}],
      ["the helper's flow-dissector query failed", {out: {...answers(), 'nodeinspect-bpf query': JSON.stringify({...HELPER, flow_dissector: {errno: 1, error: 'Operation not permitted'}})}}],
      ['tc is not installed (clsact)', {missing: ['tc']}],
      ['a device name no tc batch line can carry', {out: answers([...LINKS, {ifindex: 3, ifname: 'a#b', link_type: 'ether', flags: []} as (typeof LINKS)[number]])}],
    ]
    for (const [why, opts] of cases) {
      it(why, async () => {
        const node = fakeNode(opts)
        const facts = await collectHooksFacts(node.source)
        expect(node.asked).toContain(NET)
        expect(facts.bpftoolNet.attachments.map((a) => [a.hook, a.progId])).toEqual([
          ['xdp', 9],
          ['tc-ingress', 5],
        ])
        expect(facts.readable.attachmentSources[0]).toEqual({probe: NET})
        expect(mergeAttachments(facts).find((a) => a.hook === 'tc-ingress')!.witnesses).toContain('bpftool-net')
      })
    }

    it('ip is not installed: the devices bpftool and the helper named, then tc for them', async () => {
      const node = fakeNode({missing: ['ip']})
      const facts = await collectHooksFacts(node.source)
      expect(facts.readable.deviceList).toBe('other-probes')
      expect(facts.devices.map((d) => d.name)).toEqual(['eth0'])
      expect(node.asked.indexOf(NET)).toBeLessThan(node.asked.indexOf(TC))
      expect(facts.tc.bpf.map((a) => [a.devname, a.progId])).toEqual([['eth0', 5]])
    })
  })

  it('bpftoolNetNeeded: only when one of the others did not read its part', () => {
    const all = {deviceListRead: true, helperOk: true, helperFlowDissector: true, tcOk: true, tcUnsent: 0}
    expect(bpftoolNetNeeded(all)).toBe(false)
    for (const k of ['deviceListRead', 'helperOk', 'helperFlowDissector', 'tcOk'] as const) expect(bpftoolNetNeeded({...all, [k]: false}), k).toBe(true)
    expect(bpftoolNetNeeded({...all, tcUnsent: 1})).toBe(true)
  })
})
