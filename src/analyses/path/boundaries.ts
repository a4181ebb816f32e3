/**
 * What of the packet survives each boundary it crosses, by the kernel's own rules (docs/kernel-notes.md#kn-11-skb-scrub-packet).
 * Each function changes the packet as the kernel does and returns what it changed, for the step's details.
 */
import {hex} from '../../model/mark.js'
import type {Tuple} from '../../model/path.js'
import type {Packet} from './packet.js'

/** skb_scrub_packet(skb, xnet): conntrack always dropped (nf_reset_ct); the mark only across namespaces. */
function scrub(pkt: Packet, xnet: boolean, why: string): string[] {
  const said: string[] = []
  if (pkt.ct) {
    said.push(`conntrack entry dropped (${why} → skb_scrub_packet → nf_reset_ct): the next conntrack hook tracks the packet afresh (NEW)`)
    delete pkt.ct
  }
  if (xnet && (pkt.mark || pkt.markUnknown)) {
    said.push(`skb->mark ${hex(pkt.mark)} cleared: the packet changes network namespace (${why} → skb_scrub_packet(skb, xnet=true))`)
    pkt.mark = 0
    delete pkt.markUnknown
  }
  return said
}

/** iptunnel_xmit / ip_tunnel_xmit → skb_scrub_packet(skb, xnet), then the outer header: the outer packet has its own conntrack (kn-12). */
export function encapsulated(pkt: Packet, outer: NonNullable<Packet['outer']>, xnet = false): string[] {
  const said = scrub(pkt, xnet, 'iptunnel_xmit')
  pkt.outer = outer
  return said
}

/** vxlan_rcv → __iptunnel_pull_header → skb_scrub_packet(skb, xnet): the inner packet is tracked afresh (kn-12). */
export function decapsulated(pkt: Packet, xnet = false): {outer: Tuple & {vni?: number}; said: string[]} | undefined {
  const outer = pkt.outer
  if (!outer) return undefined
  delete pkt.outer
  return {outer, said: scrub(pkt, xnet, '__iptunnel_pull_header')}
}

/** veth_xmit → __dev_forward_skb2 → skb_scrub_packet(skb, !net_eq(…)): across netns, mark and conntrack go (kn-13). */
export function crossedVeth(pkt: Packet, xnet: boolean): string[] {
  return scrub(pkt, xnet, '__dev_forward_skb2')
}

/**
 * macvlan_queue_xmit (bridge mode) → dev_forward_skb(lowerdev) → __dev_forward_skb2 → skb_scrub_packet(skb, xnet):
 * xnet when the sending macvlan and its lower device are in different namespaces; the sibling then takes the skb as
 * it is (macvlan_handle_frame, kn-26).
 */
export function forwardedToMacvlanSibling(pkt: Packet, xnet: boolean): string[] {
  return scrub(pkt, xnet, 'dev_forward_skb')
}

/** netkit_xmit → netkit_prep_forward: conntrack always goes; across netns the mark too, in the default scrub mode (kn-13). */
export function crossedNetkit(pkt: Packet, xnet: boolean): string[] {
  return scrub(pkt, xnet, 'netkit_prep_forward')
}

/** skb_do_redirect with BPF_F_PEER → skb_scrub_packet(skb, false): conntrack goes, the mark stays (kn-13). */
export function redirectedToPeer(pkt: Packet): string[] {
  return scrub(pkt, false, 'bpf_redirect_peer')
}

/** The receiving host builds a new skb: no mark, no conntrack, no tunnel metadata cross a wire (kn-14). */
export function crossedWire(pkt: Packet): string[] {
  const said: string[] = []
  if (pkt.mark || pkt.markUnknown) said.push(`skb->mark ${hex(pkt.mark)} stays on the sending node: a wire carries only the packet's bytes`)
  pkt.mark = 0
  delete pkt.markUnknown
  delete pkt.ct
  return said
}

/** loopback_xmit → netif_rx: the skb is kept whole, mark and conntrack entry included (kn-14). */
export function loopedBack(pkt: Packet): string[] {
  return [`looped back: skb->mark ${hex(pkt.mark)} and the conntrack entry${pkt.ct ? ` (${pkt.ct.state})` : ''} are kept (loopback_xmit does not scrub the packet)`]
}
