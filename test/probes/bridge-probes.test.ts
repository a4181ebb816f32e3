// What the walk reads of a Linux bridge (kn-15, kn-16): bridge and port settings from `ip -j -d addr show`, the
// bridge's FDB from `bridge -j fdb show`, and br_netfilter's sysctl. Captures from the lab's bridge variant (trimmed).
import {describe, expect, it} from 'vitest'
import {parseBrNetfilterSysctl} from '../../src/probes/br-netfilter-sysctl.js'
import {parseBridgeFdbJson} from '../../src/probes/bridge-fdb.js'
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
