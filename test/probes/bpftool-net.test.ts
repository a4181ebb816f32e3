import {describe, expect, it} from 'vitest'
import {parseBpftoolNetJson, parseBpftoolNetText} from '../../src/probes/bpftool-net.js'
import {fixtures, golden, stableJson} from '../helpers/fixtures.js'

describe('parseBpftoolNetText on real captures', () => {
  for (const f of fixtures('bpftool-net').filter((f) => f.name.endsWith('.txt'))) {
    it(f.name, async () => {
      const parsed = parseBpftoolNetText(f.text)
      expect(parsed.problems).toEqual([])
      await expect(stableJson(parsed)).toMatchFileSnapshot(golden(`bpftool-net/${f.name}.json`))
    })
  }

  it('reads legacy object:[section] names, ids and both directions (minikube Cilium 1.9)', () => {
    const f = fixtures('bpftool-net').find((x) => x.name.startsWith('minikube'))!
    const {facts} = parseBpftoolNetText(f.text)
    expect(facts.attachments).toHaveLength(9)
    expect(facts.attachments[0]).toEqual({ifindex: 2, devname: 'eth0', hook: 'tc-ingress', progId: 1263, attachName: 'bpf_netdev_eth0.o:[from-netdev]', witnesses: ['bpftool-net']})
    expect(facts.attachments.filter((a) => a.hook === 'tc-egress').map((a) => a.devname)).toEqual(['eth0', 'cilium_host', 'cilium_vxlan'])
  })

  it('keeps tcx run order per device and direction, with link ids (kind-clab Cilium 1.17)', () => {
    const f = fixtures('bpftool-net').find((x) => x.name.startsWith('kind-clab'))!
    const {facts} = parseBpftoolNetText(f.text)
    const node0 = facts.attachments.filter((a) => a.devname === 'node0')
    expect(node0.map((a) => [a.hook, a.attachName, a.progId, a.tcx])).toEqual([
      ['tcx-ingress', 'revnat_ingress', 31356, {position: 1, linkId: 600}],
      ['tcx-ingress', 'cil_from_netdev', 31108, {position: 2, linkId: 567}],
      ['tcx-egress', 'snat_egress', 31354, {position: 1, linkId: 598}],
      ['tcx-egress', 'cil_to_netdev', 31115, {position: 2, linkId: 568}],
    ])
    expect(node0[0]!.ifindex).toBe(1691)
  })

  it('reads the per-device form with an empty xdp section (Cilium 1.14 lxc)', () => {
    const f = fixtures('bpftool-net').find((x) => x.name.startsWith('cilium-1.14'))!
    const {facts} = parseBpftoolNetText(f.text)
    expect(facts.attachments).toEqual([{ifindex: 257, devname: 'lxced3096cb2cb1', hook: 'tc-ingress', progId: 2490, attachName: 'cil_from_container-lxced3096cb2cb1', witnesses: ['bpftool-net']}])
  })

  it('reads xdp lines and the netkit text form from the bpftool commit', () => {
    const {facts, problems} = parseBpftoolNetText('xdp:\neth0(2) driver id 123\nveth1(7) generic id 9\n\ntc:\nnk1(22) netkit/peer tc1 prog_id 43 link_id 12\n\nflow_dissector:\n\nnetfilter:\n')
    expect(problems).toEqual([])
    expect(facts.attachments.map((a) => [a.devname, a.hook, a.progId, a.xdpMode ?? a.tcx?.linkId])).toEqual([
      ['eth0', 'xdp', 123, 'driver'],
      ['veth1', 'xdp', 9, 'generic'],
      ['nk1', 'netkit-peer', 43, 12],
    ])
  })
})

describe('parseBpftoolNetJson', () => {
  for (const f of fixtures('bpftool-net').filter((f) => f.name.endsWith('.json'))) {
    it(f.name, async () => {
      const parsed = parseBpftoolNetJson(f.text)
      expect(parsed.problems).toEqual([])
      await expect(stableJson(parsed)).toMatchFileSnapshot(golden(`bpftool-net/${f.name}.json`))
    })
  }

  it('reads tcx entries of bpftool >= 7.3 (Ubuntu 24.04, Cilium 1.20-dev)', () => {
    const f = fixtures('bpftool-net').find((x) => x.name.startsWith('ubuntu24'))!
    const {facts} = parseBpftoolNetJson(f.text)
    expect(facts.attachments[0]).toEqual({ifindex: 2, devname: 'ens18', hook: 'tcx-ingress', progId: 1482, attachName: 'cil_from_netdev', tcx: {position: 1, linkId: 7}, witnesses: ['bpftool-net']})
    expect(facts.attachments.every((a) => a.hook.startsWith('tcx-'))).toBe(true)
  })

  it('reads the netkit/primary JSON of the bpftool commit', () => {
    const f = fixtures('bpftool-net').find((x) => x.name.includes('netkit'))!
    expect(parseBpftoolNetJson(f.text).facts.attachments).toEqual([{ifindex: 18, devname: 'nk1', hook: 'netkit-primary', progId: 29, attachName: 'tc1', tcx: {position: 1, linkId: 8}, witnesses: ['bpftool-net']}])
  })

  it('reads xdp and legacy tc as bpftool 7.1 prints them on this machine (docs/kernel-notes.md#kn-5-bpftool-net-json)', () => {
    const text = '[{"xdp":[{"devname":"ni-h1","ifindex":3,"mode":"driver","id":123}],"tc":[{"devname":"ni-h0","ifindex":2,"kind":"clsact/ingress","name":"set_mark.bpf.o:[tc]","id":114},{"devname":"ni-h0","ifindex":2,"kind":"clsact/egress","name":"or_mark.bpf.o:[tc]","id":118}],"flow_dissector":[]}]'
    const {facts, problems} = parseBpftoolNetJson(text)
    expect(problems).toEqual([])
    expect(facts.attachments.map((a) => `${a.devname}/${a.hook}/${a.progId}/${a.xdpMode ?? a.attachName}`)).toEqual(['ni-h1/xdp/123/driver', 'ni-h0/tc-ingress/114/set_mark.bpf.o:[tc]', 'ni-h0/tc-egress/118/or_mark.bpf.o:[tc]'])
  })

  it("reads bpftool's flow dissector field written inside its array (not JSON), as bpftool 7.1 prints it here", () => {
    const text = '[{"xdp":[{"devname":"ni-x0","ifindex":3,"mode":"generic","id":58582}],"tc":[],"flow_dissector":["id":58593]}]'
    const {facts, problems} = parseBpftoolNetJson(text)
    expect(problems).toEqual([])
    expect(facts.flowDissectorProgIds).toEqual([58593])
    expect(facts.attachments.map((a) => [a.devname, a.hook, a.progId])).toEqual([['ni-x0', 'xdp', 58582]])
    // A device named like it stays as it is: only bpftool's own key is read so.
    expect(parseBpftoolNetJson('[{"xdp":[],"tc":[{"devname":"\\"flow_dissector\\":[\\"id\\":1]","ifindex":2,"kind":"clsact/ingress","id":5}],"flow_dissector":[]}]').facts.attachments[0]!.devname).toBe('"flow_dissector":["id":1]')
  })

  const bad: Array<[string, string, RegExp]> = [
    ['empty output', '', /empty output/],
    ['truncated JSON', '[{"xdp":[],"tc":[{"devname":"eth0"', /not valid JSON/],
    ['bpftool error object', '{"error":"can\'t query prog: Operation not permitted"}', /bpftool error: can't query prog/],
    ['unknown attach kind', '[{"tc":[{"devname":"eth0","ifindex":2,"kind":"qdisc/ingress","id":5}]}]', /unknown tc attach kind "qdisc\/ingress"/],
    ['entry without program id', '[{"tc":[{"devname":"eth0","ifindex":2,"kind":"clsact/ingress"}]}]', /lacks devname, ifindex or program id/],
    ['xdp entry without ifindex', '[{"xdp":[{"devname":"eth0","mode":"driver","id":3}]}]', /xdp entry lacks/],
  ]
  for (const [name, text, re] of bad) {
    it(`reports a problem for ${name}`, () => {
      const {facts, problems} = parseBpftoolNetJson(text)
      expect(problems.map((p) => p.message).join('\n')).toMatch(re)
      expect(facts.attachments).toEqual([])
    })
  }

  it('reports unrecognised text lines with their line number', () => {
    const {problems} = parseBpftoolNetText('tc:\neth0(2) clsact/ingress foo id 1\ngarbage here\n')
    expect(problems).toEqual([{probe: 'bpftool -j net show', line: 3, message: 'unrecognised tc line', raw: 'garbage here'}])
  })
})
