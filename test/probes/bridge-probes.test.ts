// What the walk reads of a Linux bridge (kn-15, kn-16): bridge and port settings from `ip -j -d addr show`, the
// bridge's FDB from `bridge -j fdb show`, and br_netfilter's sysctl. Captures from the lab's bridge variant (trimmed).
import {describe, expect, it} from 'vitest'
import {parseBrNetfilterSysctl} from '../../src/probes/br-netfilter-sysctl.js'
import {parseBridgeFdbJson} from '../../src/probes/bridge-fdb.js'
import {parseBridgeVlanJson} from '../../src/probes/bridge-vlan.js'
import {parseIpLinkJson} from '../../src/probes/ip-link.js'

const CNI0 = `[{"ifindex":4,"ifname":"cni0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","link_type":"ether","address":"ce:62:92:9f:0a:93","linkinfo":{"info_kind":"bridge","info_data":{"stp_state":0,"vlan_filtering":0,"nf_call_iptables":0}},"addr_info":[{"family":"inet","local":"10.244.2.1","prefixlen":24,"scope":"global"}]}]`
const PORT = `[{"ifindex":5,"link_index":2,"ifname":"veth8c2e4a6b","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"master":"cni0","operstate":"UP","link_type":"ether","address":"ce:62:92:9f:0a:93","link_netnsid":1,"linkinfo":{"info_kind":"veth","info_slave_kind":"bridge","info_slave_data":{"state":"forwarding","priority":32,"cost":2,"hairpin":false,"learning":true,"flood":true}},"addr_info":[]}]`
const FDB = `[{"mac":"0a:58:0a:f4:01:00","ifname":"flannel.1","dst":"192.168.1.12","flags":["self"],"state":"permanent"},{"mac":"33:33:00:00:00:01","ifname":"cni0","flags":["self"],"state":"permanent"},{"mac":"ce:62:92:9f:0a:93","ifname":"veth8c2e4a6b","flags":[],"master":"cni0","state":"permanent"}]`

describe('bridge facts', () => {
  it('a bridge: vlan_filtering read', () => {
    const {facts, problems} = parseIpLinkJson(CNI0)
    expect(problems).toEqual([])
    expect(facts[0]).toMatchObject({name: 'cni0', kind: 'bridge', bridge: {vlanFiltering: false, nfCallIptables: false}})
    expect(parseIpLinkJson(CNI0.replace('"vlan_filtering":0', '"vlan_filtering":1')).facts[0]!.bridge).toEqual({vlanFiltering: true, nfCallIptables: false})
  })

  it('a bridge port: its master, hairpin mode and STP state', () => {
    const d = parseIpLinkJson(PORT).facts[0]!
    expect(d).toMatchObject({name: 'veth8c2e4a6b', kind: 'veth', master: 'cni0', slaveKind: 'bridge', bridgePort: {hairpin: false, state: 'forwarding'}})
  })

  it("the FDB: a bridge's entry for a port (master) beside a VXLAN's own (self)", () => {
    const {facts} = parseBridgeFdbJson(FDB)
    expect(facts[0]).toEqual({mac: '0a:58:0a:f4:01:00', dev: 'flannel.1', dst: '192.168.1.12', flags: ['self'], state: 'permanent'})
    expect(facts[2]).toEqual({mac: 'ce:62:92:9f:0a:93', dev: 'veth8c2e4a6b', master: 'cni0', flags: [], state: 'permanent'})
  })

  it('net.bridge.bridge-nf-call-iptables: 1, 0, or absent (sysctl prints nothing, exit 255: br_netfilter not loaded)', () => {
    expect(parseBrNetfilterSysctl('1\n').facts).toEqual({callIptables: true, present: true})
    expect(parseBrNetfilterSysctl('0\n').facts).toEqual({callIptables: false, present: true})
    expect(parseBrNetfilterSysctl('').facts).toEqual({callIptables: false, present: false})
    expect(parseBrNetfilterSysctl('yes').problems).toHaveLength(1)
  })
})

// `bridge -j vlan show` as iproute2 6.1 prints it (bridge/vlan.c: open_vlan_port, print_range, the flags array); this
// machine's kernel has no VLAN filtering (kn-23), so the entry is written from that format, not captured.
const VLANS = `[{"ifname":"br0","vlans":[{"vlan":1,"flags":["PVID","Egress Untagged"]}]},{"ifname":"vethA","vlans":[{"vlan":10,"flags":["PVID","Egress Untagged"]},{"vlan":20,"vlanEnd":22}]},{"ifname":"vethB","vlans":[{"vlan":20}]}]`
// A macvlan moved out of its lower device's netns (captured here: ip -j -d link show mva, trimmed).
const MACVLAN = `[{"ifindex":4,"link_index":3,"ifname":"mva","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","link_type":"ether","address":"62:2d:f6:23:69:b0","link_netnsid":0,"linkinfo":{"info_kind":"macvlan","info_data":{"mode":"bridge","bcqueuelen":1000,"usedbcqueuelen":1000}}}]`

describe('bridge VLANs and macvlans', () => {
  it('bridge -j vlan show: each port and bridge with its VLANs, ranges, PVID and Egress Untagged', () => {
    const {facts, problems} = parseBridgeVlanJson(VLANS)
    expect(problems).toEqual([])
    expect(facts).toEqual([
      {dev: 'br0', vlans: [{vid: 1, pvid: true, untagged: true}]},
      {dev: 'vethA', vlans: [{vid: 10, pvid: true, untagged: true}, {vid: 20, vidEnd: 22, pvid: false, untagged: false}]},
      {dev: 'vethB', vlans: [{vid: 20, pvid: false, untagged: false}]},
    ])
  })

  it('bridge -j vlan show: empty is no VLANs; bad input is a problem (and the VLANs stay unread)', () => {
    expect(parseBridgeVlanJson('[]\n')).toEqual({facts: [], problems: []})
    expect(parseBridgeVlanJson('')).toEqual({facts: [], problems: []})
    for (const bad of ['{"ifname":"x"}', '[{"ifname":"x","vlans":[{"vlan":0}]}]', '[{"ifname":"x","vlans":[{"vlan":5,"vlanEnd":2}]}]', '[{"vlans":[]}]', '[{"ifname":"x","vlans":[{"vlan":4095}]}]', 'not json']) {
      expect(parseBridgeVlanJson(bad).problems.length, bad).toBeGreaterThan(0)
    }
    expect(parseBridgeVlanJson('not json').facts).toBeUndefined()
    expect(parseBridgeVlanJson('[{"ifname":"x","vlans":[{"vlan":0},{"vlan":7}]}]').facts).toEqual([{dev: 'x', vlans: [{vid: 7, pvid: false, untagged: false}]}])
  })

  it('a macvlan: its mode and its lower device by ifindex and nsid (in another netns)', () => {
    const d = parseIpLinkJson(MACVLAN).facts[0]!
    expect(d).toMatchObject({name: 'mva', kind: 'macvlan', macvlan: {mode: 'bridge', lowerIfindex: 3, lowerNetnsId: 0}})
    expect(d.peer).toBeUndefined()
  })

  it("an FDB entry's VLAN (a bridge with VLAN filtering learns per VLAN)", () => {
    expect(parseBridgeFdbJson('[{"mac":"02:00:00:00:00:0b","ifname":"vethB","vlan":20,"flags":[],"master":"br0","state":""}]').facts[0]).toMatchObject({vlan: 20, dev: 'vethB'})
  })
})
