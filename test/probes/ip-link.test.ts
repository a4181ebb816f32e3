import {describe, expect, it} from 'vitest'
import {parseIpLinkJson, parseIpLinkText} from '../../src/probes/ip-link.js'
import {fixtures, golden, stableJson} from '../helpers/fixtures.js'

// `ip -j -d addr show` in a throwaway netns on this machine (iproute2 6.1): a vxlan, and a veth whose peer is in another netns.
const JSON_CAPTURE = `[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"qdisc":"noop","operstate":"DOWN","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","promiscuity":0,"allmulti":0,"min_mtu":0,"max_mtu":0,"num_tx_queues":1,"num_rx_queues":1,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":524280,"tso_max_segs":65535,"gro_max_size":65536,"addr_info":[]},{"ifindex":2,"ifname":"vx0","flags":["BROADCAST","MULTICAST"],"mtu":1500,"qdisc":"noop","operstate":"DOWN","group":"default","txqlen":1000,"link_type":"ether","address":"02:ed:c3:48:72:9b","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"vxlan","info_data":{"id":42,"local":"192.168.9.1","port_range":{"low":0,"high":0},"port":8472,"learning":false,"ttl":0,"df":"unset","ageing":300,"udp_csum":true,"udp_zero_csum6_tx":false,"udp_zero_csum6_rx":false}},"num_tx_queues":1,"num_rx_queues":1,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":65536,"tso_max_segs":65535,"gro_max_size":65536,"addr_info":[]},{"ifindex":43,"link_index":42,"ifname":"lxcaa","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP"],"mtu":1500,"qdisc":"noqueue","operstate":"DOWN","group":"default","txqlen":1000,"link_type":"ether","address":"e6:ae:76:cb:50:8c","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"veth"},"num_tx_queues":2,"num_rx_queues":2,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":524280,"tso_max_segs":65535,"gro_max_size":65536,"addr_info":[{"family":"inet","local":"10.9.0.1","prefixlen":32,"scope":"global","label":"lxcaa","valid_life_time":4294967295,"preferred_life_time":4294967295}]}]`

describe('parseIpLinkJson', () => {
  it('reads kinds, vxlan info, a veth peer in another netns and addresses', () => {
    const {facts, problems} = parseIpLinkJson(JSON_CAPTURE)
    expect(problems).toEqual([])
    expect(facts.map((d) => [d.ifindex, d.name, d.kind])).toEqual([
      [1, 'lo', 'loopback'],
      [2, 'vx0', 'vxlan'],
      [43, 'lxcaa', 'veth'],
    ])
    expect(facts[1]!.vxlan).toEqual({vni: 42, port: 8472, local: '192.168.9.1', learning: false})
    expect(facts[2]!.peer).toEqual({ifindex: 42, netnsId: 0, sameNetns: false})
    expect(facts[2]!.addresses).toEqual([{family: 'inet', local: '10.9.0.1', prefixlen: 32, scope: 'global'}])
  })

  it('tells a same-netns veth peer (link name) from a macvlan lower device, and reads xdp', () => {
    const text = JSON.stringify([
      {ifindex: 3, ifname: 'cilium_net', link: 'cilium_host', linkinfo: {info_kind: 'veth'}, flags: []},
      {ifindex: 6, ifname: 'mv0', link: 'eth0', linkinfo: {info_kind: 'macvlan'}, flags: []},
      {ifindex: 2, ifname: 'eth0', link_type: 'ether', flags: [], xdp: {mode: 1, prog: {id: 77, name: 'xdp_pass'}}},
      {ifindex: 9, ifname: 'vxlan.calico', linkinfo: {info_kind: 'vxlan', info_data: {external: true, port: 4789, link: 'enp2s0'}}, flags: []},
    ])
    const {facts} = parseIpLinkJson(text)
    expect(facts[0]!.peer).toEqual({name: 'cilium_host', sameNetns: true})
    expect(facts[1]!.lower).toBe('eth0')
    expect(facts[1]!.peer).toBeUndefined()
    expect(facts[2]!.xdp).toEqual({mode: 'driver', progId: 77})
    expect(facts[2]!.kind).toBe('physical')
    expect(facts[3]!.vxlan).toEqual({port: 4789, dev: 'enp2s0', external: true})
  })

  it('xdp in multi mode: no one program id, one per mode in `attached` (a driver and an offloaded program)', () => {
    // As iproute2 6.1 prints it (ip/iplink_xdp.c xdp_dump_json()): IFLA_XDP_PROG_ID is absent in multi mode.
    const text = JSON.stringify([{ifindex: 4, ifname: 'ens1', flags: [], xdp: {mode: 4, attached: [{mode: 1, prog: {id: 30, name: 'a'}}, {mode: 3, prog: {id: 31, name: 'b'}}]}}])
    expect(parseIpLinkJson(text).facts[0]!.xdp).toEqual({mode: 'multi', attached: [{mode: 'driver', progId: 30}, {mode: 'offload', progId: 31}]})
    // One mode: the one id, as before (`attached` repeats it).
    const one = JSON.stringify([{ifindex: 4, ifname: 'ens1', flags: [], xdp: {mode: 2, prog: {id: 30}, attached: [{mode: 2, prog: {id: 30}}]}}])
    expect(parseIpLinkJson(one).facts[0]!.xdp).toEqual({mode: 'generic', progId: 30})
  })

  it('reports malformed input', () => {
    expect(parseIpLinkJson('').problems[0]!.message).toBe('empty output')
    expect(parseIpLinkJson('{"ifindex":1}').problems[0]!.message).toBe('expected a list of links')
    expect(parseIpLinkJson('[{"ifname":"x"}]').problems[0]!.message).toMatch(/lacks ifindex or ifname/)
  })
})

describe('parseIpLinkText on real captures', () => {
  for (const f of fixtures('ip-link')) {
    it(f.name, async () => {
      const parsed = parseIpLinkText(f.text)
      expect(parsed.problems).toEqual([])
      await expect(stableJson(parsed)).toMatchFileSnapshot(golden(`ip-link/${f.name}.json`))
    })
  }

  it('reads Calico veths (peer ifindex 2 in a named netns) and vxlan.calico details', () => {
    const f = fixtures('ip-link').find((x) => x.name.startsWith('calico'))!
    const devs = parseIpLinkText(f.text).facts
    const cali = devs.find((d) => d.name === 'cali672f36e7b7a')!
    expect(cali).toMatchObject({ifindex: 4, kind: 'veth', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1450, peer: {ifindex: 2, netns: '22c34064-9102-41e8-bc25-000396798604', sameNetns: false}})
    expect(devs.find((d) => d.name === 'vxlan.calico')!.vxlan).toEqual({vni: 4096, port: 4789, local: '10.0.0.11', dev: 'enp2s0', learning: false})
    expect(devs.find((d) => d.name === 'enp1s0')).toMatchObject({kind: 'physical', altnames: ['enx5254004941b8']})
  })

  it('reads bridge ports (kube-router) and `ip a` addresses with altnames (ACK Cilium)', () => {
    const k0s = parseIpLinkText(fixtures('ip-link').find((x) => x.name.startsWith('k0s'))!.text).facts
    expect(k0s.find((d) => d.name === 'vethafa19b66')).toMatchObject({kind: 'veth', master: 'kube-bridge', slaveKind: 'bridge', peer: {ifindex: 2, netns: 'cni-7abaad58-8ee0-6e49-8a25-c72c6db0f2d1'}})
    expect(k0s.find((d) => d.name === 'kube-bridge')!.kind).toBe('bridge')
    const ack = parseIpLinkText(fixtures('ip-link').find((x) => x.name.startsWith('ack'))!.text).facts
    expect(ack.find((d) => d.name === 'eth0')).toMatchObject({altnames: ['enp0s6', 'ens6'], addresses: [{family: 'inet', local: '10.0.0.238', prefixlen: 24, scope: 'global'}, {family: 'inet6', local: 'fe80::216:3eff:fe23:f596', prefixlen: 64, scope: 'link'}]})
    expect(ack.find((d) => d.name === 'cilium_net')!.peer).toEqual({name: 'cilium_host', sameNetns: true})
  })
})
