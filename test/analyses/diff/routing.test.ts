import {describe, expect, it} from 'vitest'
import {ipRuleText, routeText} from '../../../src/analyses/diff/routing.js'
import {parseIpRuleJson} from '../../../src/probes/ip-rule.js'

describe('routes and ip rules in ip\'s words (the diff compares these)', () => {
  it('a route without its state flags', () => {
    expect(routeText({family: 'ipv4', dst: '10.42.0.0/24', type: 'unicast', table: 'main', gateway: '10.42.0.247', dev: 'cilium_vxlan', flags: ['onlink', 'linkdown']})).toBe('10.42.0.0/24 via 10.42.0.247 dev cilium_vxlan')
    expect(routeText({family: 'ipv4', dst: '10.0.0.1', type: 'local', table: 'local', dev: 'eth0', protocol: 'kernel', scope: 'host', prefsrc: '10.0.0.1', flags: []})).toBe('local 10.0.0.1 dev eth0 proto kernel scope host src 10.0.0.1')
  })
  it('ip rules as ip prints them', () => {
    const r = parseIpRuleJson('[{"priority":9,"src":"all","fwmark":"0x200","fwmask":"0xf00","table":"2004"},{"priority":100,"src":"10.42.1.80","fwmark":"0x539","table":"133"},{"priority":32766,"src":"all","table":"main"}]', 'ipv4')
    expect(r.facts.map(ipRuleText)).toEqual(['9: from all fwmark 0x200/0xf00 lookup 2004', '100: from 10.42.1.80 fwmark 0x539 lookup 133', '32766: from all lookup main'])
  })
})
