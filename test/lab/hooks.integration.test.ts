// `nodeinspect hooks` against the real lab: every program id on every hook that the lab attached, nothing
// invented; tcx run order; snapshot-then-replay gives the same answer offline.
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {HooksReport} from '../../src/analyses/hooks.js'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import type {LabState} from '../../src/lab/state.js'
import {labDown} from '../../src/lab/teardown.js'
import {labUp} from '../../src/lab/up.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {cli} from '../helpers/cli.js'
import {LIVE_LAB_TEST_TIMEOUT} from './live.js'

const pre = checkLabPrerequisites()
const skipReason = [pre.reason, existsSync(bpfHelperPath()) ? '' : `no helper binary at ${bpfHelperPath()}`].filter(Boolean).join('; ')
if (skipReason) console.warn(`test/lab/hooks.integration.test.ts: skipping: ${skipReason}`)

const prefix = `nilab-t${process.pid}h`
const HOOK_OF_KIND: Record<string, string> = {'clsact/ingress': 'tc-ingress', 'clsact/egress': 'tc-egress', 'tcx/ingress': 'tcx-ingress', 'tcx/egress': 'tcx-egress', xdp: 'xdp'}

function hooksJson(args: string[]): HooksReport {
  const r = cli(['hooks', ...args, '--json'])
  if (r.status !== 0) throw new Error(`hooks ${args.join(' ')}: exit ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout) as HooksReport
}

const seen = (r: HooksReport) => r.devices.flatMap((d) => d.hooks.map((h) => `${d.name}(${d.ifindex}) ${h.hook} ${h.progId}`)).sort()

describe.skipIf(!!skipReason)(`hooks on the lab (${skipReason || 'root, BPF, netns'})`, {timeout: LIVE_LAB_TEST_TIMEOUT}, () => {
  let state: LabState
  beforeAll(async () => {
    state = await labUp({prefix})
  })
  afterAll(async () => {
    await labDown(prefix)
  })

  for (const node of ['node1', 'node2'] as const) {
    it(`${node}: every program the lab attached, on its hook, and nothing else`, () => {
      const netns = `${prefix}-${node}`
      const expected = state.attachments.filter((a) => a.netns === netns).map((a) => `${a.devname}(${a.ifindex}) ${HOOK_OF_KIND[a.kind]} ${a.progId}`).sort()
      expect(expected.length).toBeGreaterThan(4)
      const r = hooksJson(['--netns', netns])
      expect(seen(r)).toEqual(expected)
      expect(r.warnings).toEqual([])
      expect(r.tcxVisibility).toMatchObject({helper: 'ok', kernelHasTcx: true, bpftoolShowsTcx: false})
    })
  }

  it('node2 eth0: XDP first, then the foreign tcx program, then legacy tc; the pod veth has no egress program', () => {
    const r = hooksJson(['--netns', `${prefix}-node2`, '--dev', 'eth0'])
    expect(r.devices).toHaveLength(1)
    const eth0 = r.devices[0]!
    expect(eth0.role).toBe('uplink')
    expect(eth0.hooks.map((h) => [h.direction, h.order, h.hook, h.program?.name])).toEqual([
      ['ingress', 1, 'xdp', 'bpf_xdp_entry'],
      ['ingress', 2, 'tcx-ingress', 'foreign_ingress'],
      ['ingress', 3, 'tc-ingress', 'from_netdev'],
      ['egress', 1, 'tc-egress', 'to_netdev'],
    ])
    expect(eth0.hooks[0]!.xdpMode).toBe('driver')
    expect(eth0.hooks[1]!.witnesses).toEqual(['bpf-helper'])
    expect(eth0.hooks[1]!.notes).toEqual([`runs before the clsact ingress program (id ${eth0.hooks[2]!.progId}): if it returns anything but TCX_NEXT, they never see the packet`])
    expect(eth0.hooks[2]).toMatchObject({object: 'bpf_netdev_eth0.o', section: 'from-netdev', tc: {pref: 1, handle: '0x1', directAction: true}, witnesses: ['tc-filter']})
    const lxc = hooksJson(['--netns', `${prefix}-node2`, '--dev', 'lxc65015af813d1']).devices[0]!
    expect(lxc.hooks.map((h) => h.hook)).toEqual(['tc-ingress'])
    expect(lxc.peer).toMatchObject({ifindex: 28, netns: `${prefix}-n2-httpbin`, sameNetns: false, podIps: [{ip: '10.42.0.51', evidence: 'route'}]})
  })

  it('node1: the vxlan and the tcx pod endpoint are described as the lab made them', () => {
    const r = hooksJson(['--netns', `${prefix}-node1`])
    const vx = r.devices.find((d) => d.name === 'cilium_vxlan')!
    expect(vx).toMatchObject({ifindex: 5, kind: 'vxlan', role: 'overlay', vxlan: {vni: 2, port: 8472, local: '192.168.1.12', dev: 'eth0'}})
    const tcxPod = state.pods.find((p) => p.node === 'node1' && p.fromContainer === 'tcx')!
    const dev = r.devices.find((d) => d.name === tcxPod.lxc.name)!
    expect(dev.hooks).toHaveLength(1)
    expect(dev.hooks[0]).toMatchObject({hook: 'tcx-ingress', kernelName: 'BPF_TCX_INGRESS', recognised: {software: 'Cilium', role: 'from-container', matchedBy: 'program-name'}})
    expect(dev.hooks[0]!.tcx?.linkId).toBe(state.attachments.find((a) => a.devname === tcxPod.lxc.name)!.linkId)
  })

  it('snapshot then replay gives the same answer offline, text and JSON', () => {
    const dir = mkdtempSync(`${tmpdir()}/ni-snap-`)
    const netns = `${prefix}-node2`
    const live = hooksJson(['--netns', netns])
    const snap = cli(['snapshot', '--netns', netns, '-o', `${dir}/n2.json`])
    expect(snap.status).toBe(0)
    expect(snap.stderr).toMatch(/^wrote .*n2\.json: \d+ probe outputs from .* netns nilab-t\d+h-node2, 0 failed\n$/)
    const file = JSON.parse(readFileSync(`${dir}/n2.json`, 'utf8'))
    expect(file.meta).toMatchObject({netns, kernel: expect.any(String), tools: {bpftool: expect.stringMatching(/^bpftool v/), 'nodeinspect-bpf': expect.any(String)}})
    const replay = hooksJson(['--snapshot', `${dir}/n2.json`])
    const strip = (r: HooksReport) => ({...r, node: {...r.node, source: undefined, snapshotFile: undefined, takenAt: undefined}})
    expect(strip(replay)).toEqual(strip(live))
    const liveText = cli(['hooks', '--netns', netns]).stdout.split('\n').slice(1).join('\n')
    const replayText = cli(['hooks', '--snapshot', `${dir}/n2.json`]).stdout.split('\n').slice(1).join('\n')
    expect(replayText).toBe(liveText)
  })
})
