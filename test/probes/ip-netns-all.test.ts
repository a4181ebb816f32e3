import {describe, expect, it} from 'vitest'
import {parseAllNetnsAddresses, parseAllNetnsRoutes} from '../../src/probes/ip-netns-all.js'

describe('ip -all netns exec framing', () => {
  it('splits per namespace and parses each body', async () => {
    const a = parseAllNetnsAddresses('\nnetns: pod-a\n[{"ifindex":1,"ifname":"lo","link_type":"loopback","addr_info":[]},{"ifindex":42,"ifname":"eth0","link_index":43,"link_netnsid":0,"addr_info":[{"family":"inet","local":"10.42.1.80","prefixlen":32}]}]\n\nnetns: pod-b\n[]\n')
    expect([...a.facts.keys()]).toEqual(['pod-a', 'pod-b'])
    expect(a.facts.get('pod-a')![1]).toMatchObject({ifindex: 42, name: 'eth0', addresses: [{local: '10.42.1.80', prefixlen: 32}]})
    const r = parseAllNetnsRoutes('netns: pod-a\n[{"dst":"default","gateway":"10.42.1.247","dev":"eth0","flags":["onlink"]}]\n')
    expect(r.facts.get('pod-a')).toEqual([{family: 'ipv4', dst: 'default', type: 'unicast', table: 'main', dev: 'eth0', gateway: '10.42.1.247', flags: ['onlink']}])
    expect(parseAllNetnsRoutes('stray\nnetns: x\n[]').problems[0]).toMatchObject({line: 1, message: 'output before any "netns:" line'})
  })
})
