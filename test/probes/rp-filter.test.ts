import {describe, expect, it} from 'vitest'
import {rpFilterMode} from '../../src/model/rp-filter.js'
import {parseRpFilter} from '../../src/probes/rp-filter.js'

describe('sysctl rp_filter (kn-22)', () => {
  it('reads all and each device (a name\'s dots printed as /), skips default; the mode is the larger of all and the device', () => {
    const {facts, problems} = parseRpFilter(['net.ipv4.conf.all.rp_filter = 2', 'net.ipv4.conf.default.rp_filter = 1', 'net.ipv4.conf.eth0.rp_filter = 1', 'net.ipv4.conf.eth0/100.rp_filter = 0', 'garbage', ''].join('\n'))
    expect(problems).toEqual([])
    expect(facts).toEqual({all: 2, devices: {eth0: 1, 'eth0.100': 0}})
    expect(rpFilterMode(facts, 'eth0')).toBe(2)
    expect(rpFilterMode({all: 0, devices: {eth1: 1}}, 'eth1')).toBe(1)
    expect(rpFilterMode({devices: {}}, 'eth1')).toBeUndefined()
  })
})
