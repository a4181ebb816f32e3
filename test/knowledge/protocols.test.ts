import {describe, expect, it} from 'vitest'
import {evaluateHook, type PacketState} from '../../src/analyses/netfilter-eval.js'
import {protocolNumber} from '../../src/knowledge/protocols.js'
import {parseIptablesSave} from '../../src/probes/iptables-save.js'

describe('protocol names as iptables-save and nft print them', () => {
  it('knows /etc/protocols names and aliases (Debian netbase) and the libxtables names, case-insensitively', () => {
    expect(protocolNumber('ipencap')).toBe(4)
    expect(protocolNumber('IP-ENCAP')).toBe(4)
    // Debian's ipip is IPIP (94), not IP-in-IP (4)
    expect(protocolNumber('ipip')).toBe(94)
    expect(protocolNumber('gre')).toBe(47)
    expect(protocolNumber('vrrp')).toBe(112)
    expect(protocolNumber('icmpv6')).toBe(58)
    expect(protocolNumber('ipv6-icmp')).toBe(58)
    expect(protocolNumber('mh')).toBe(135)
    expect(protocolNumber('all')).toBe(0)
    expect(protocolNumber('UDPLite')).toBe(136)
    expect(protocolNumber('17')).toBe(17)
    expect(protocolNumber('no-such-protocol')).toBeUndefined()
  })

  const rules = parseIptablesSave(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A INPUT -p ipencap -j DROP', '-A INPUT -p no-such-protocol -j DROP', 'COMMIT', ''].join('\n'), {family: 'ipv4', backend: 'nft'}).facts
  const input = (proto: string) => evaluateHook({xt: [rules], nft: []}, {hook: 'input', localAddresses: []}, {family: 'ipv4', src: '192.168.1.12', dst: '192.168.1.13', proto, mark: 0, ctmark: 0, iif: 'eth0'} satisfies PacketState)

  it('-p ipencap matches an IP-in-IP packet (protocol 4) and, decided, does not match TCP', () => {
    expect(input('4')).toMatchObject({verdict: 'drop', decidedBy: {position: 1}})
    const tcp = input('tcp')
    expect(tcp.unknowns.filter((u) => u.includes('ipencap'))).toEqual([])
  })

  it('a name nothing knows is unknown, never a silent "does not match"', () => {
    expect(input('tcp').unknowns).toEqual([expect.stringContaining('-p no-such-protocol: a protocol name neither /etc/protocols nor libxtables knows (knowledge/protocols.ts): unknown, assumed no match')])
  })
})
