// Each boundary rule of src/analyses/path/boundaries.ts on its own (docs/kernel-notes.md#kn-11-skb-scrub-packet).
import {describe, expect, it} from 'vitest'
import {crossedNetkit, crossedVeth, crossedWire, decapsulated, encapsulated, loopedBack, redirectedToPeer} from '../../src/analyses/path/boundaries.js'
import type {Packet} from '../../src/analyses/path/packet.js'

const tuple = {src: '10.42.1.80', dst: '10.42.0.51', proto: 'tcp' as const, sport: 40000, dport: 80}
const outer = {src: '192.168.1.12', dst: '192.168.1.13', proto: 'udp' as const, dport: 8472}
const tracked = (): Packet => ({tuple: {...tuple}, mark: 0x800, markUnknown: 0xf, ct: {state: 'UNTRACKED', zone: 0, mark: 0}})

describe('what survives each boundary', () => {
  it('encapsulation in one netns: conntrack dropped, mark kept, outer header on', () => {
    const p = tracked()
    expect(encapsulated(p, outer)).toHaveLength(1)
    expect(p).toEqual({tuple, outer, mark: 0x800, markUnknown: 0xf})
  })

  it('encapsulation into another netns (xnet): the mark goes too', () => {
    const p = tracked()
    encapsulated(p, outer, true)
    expect(p).toEqual({tuple, outer, mark: 0})
  })

  it('decapsulation: the outer header and its conntrack entry go, the mark stays in one netns', () => {
    const p: Packet = {...tracked(), outer}
    expect(decapsulated(p)?.outer).toEqual(outer)
    expect(p).toEqual({tuple, mark: 0x800, markUnknown: 0xf})
    expect(decapsulated(p)).toBeUndefined()
  })

  it('a veth: in one netns conntrack goes and the mark stays; into another both go', () => {
    const same = tracked()
    crossedVeth(same, false)
    expect(same).toEqual({tuple, mark: 0x800, markUnknown: 0xf})
    const other = tracked()
    crossedVeth(other, true)
    expect(other).toEqual({tuple, mark: 0})
  })

  it('a netkit pair into another netns (default scrub mode): mark and conntrack go', () => {
    const p = tracked()
    expect(crossedNetkit(p, true)[1]).toBe('skb->mark 0x800 cleared: the packet changes network namespace (netkit_prep_forward → skb_scrub_packet(skb, xnet=true))')
    expect(p).toEqual({tuple, mark: 0})
  })

  it('bpf_redirect_peer: conntrack goes, the mark stays', () => {
    const p = tracked()
    expect(redirectedToPeer(p)).toEqual(['conntrack entry dropped (bpf_redirect_peer → skb_scrub_packet → nf_reset_ct): the next conntrack hook tracks the packet afresh (NEW)'])
    expect(p).toEqual({tuple, mark: 0x800, markUnknown: 0xf})
  })

  it('the wire: nothing but the bytes', () => {
    const p = tracked()
    crossedWire(p)
    expect(p).toEqual({tuple, mark: 0})
  })

  it('loopback: everything kept', () => {
    const p = tracked()
    loopedBack(p)
    expect(p).toEqual(tracked())
  })
})
