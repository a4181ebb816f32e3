/**
 * IP protocol names and numbers, as iptables-save and nft print them. iptables-save prints a protocol by the name
 * libxtables knows (xtables_chain_protos: tcp, udp, udplite, sctp, icmp, icmpv6, ipv6-icmp, esp, ah, ipv6-mh, mh,
 * all), else by getprotobynumber(), which reads /etc/protocols: its first column, e.g. `-p ipencap` for 4. nft
 * names protocols the same way. Names are matched case-insensitively, aliases included (getprotobyname).
 *
 * Source: /etc/protocols of Debian's netbase 6.4 (Debian 12), every entry; libxtables 1.8.9 xtables_chain_protos.
 * Note that there `ipip` is 94 (IPIP), not 4: protocol 4 is `ipencap` (alias IP-ENCAP).
 */

/** [name, number, aliases] as /etc/protocols lists them (netbase 6.4), in its order. */
const ETC_PROTOCOLS: ReadonlyArray<readonly [string, number, readonly string[]]> = [
  ['ip', 0, ['IP']],
  ['hopopt', 0, ['HOPOPT']],
  ['icmp', 1, ['ICMP']],
  ['igmp', 2, ['IGMP']],
  ['ggp', 3, ['GGP']],
  ['ipencap', 4, ['IP-ENCAP']],
  ['st', 5, ['ST']],
  ['tcp', 6, ['TCP']],
  ['egp', 8, ['EGP']],
  ['igp', 9, ['IGP']],
  ['pup', 12, ['PUP']],
  ['udp', 17, ['UDP']],
  ['hmp', 20, ['HMP']],
  ['xns-idp', 22, ['XNS-IDP']],
  ['rdp', 27, ['RDP']],
  ['iso-tp4', 29, ['ISO-TP4']],
  ['dccp', 33, ['DCCP']],
  ['xtp', 36, ['XTP']],
  ['ddp', 37, ['DDP']],
  ['idpr-cmtp', 38, ['IDPR-CMTP']],
  ['ipv6', 41, ['IPv6']],
  ['ipv6-route', 43, ['IPv6-Route']],
  ['ipv6-frag', 44, ['IPv6-Frag']],
  ['idrp', 45, ['IDRP']],
  ['rsvp', 46, ['RSVP']],
  ['gre', 47, ['GRE']],
  ['esp', 50, ['IPSEC-ESP']],
  ['ah', 51, ['IPSEC-AH']],
  ['skip', 57, ['SKIP']],
  ['ipv6-icmp', 58, ['IPv6-ICMP']],
  ['ipv6-nonxt', 59, ['IPv6-NoNxt']],
  ['ipv6-opts', 60, ['IPv6-Opts']],
  ['rspf', 73, ['RSPF', 'CPHB']],
  ['vmtp', 81, ['VMTP']],
  ['eigrp', 88, ['EIGRP']],
  ['ospf', 89, ['OSPFIGP']],
  ['ax.25', 93, ['AX.25']],
  ['ipip', 94, ['IPIP']],
  ['etherip', 97, ['ETHERIP']],
  ['encap', 98, ['ENCAP']],
  ['pim', 103, ['PIM']],
  ['ipcomp', 108, ['IPCOMP']],
  ['vrrp', 112, ['VRRP']],
  ['l2tp', 115, ['L2TP']],
  ['isis', 124, ['ISIS']],
  ['sctp', 132, ['SCTP']],
  ['fc', 133, ['FC']],
  ['mobility-header', 135, ['Mobility-Header']],
  ['udplite', 136, ['UDPLite']],
  ['mpls-in-ip', 137, ['MPLS-in-IP']],
  ['manet', 138, []],
  ['hip', 139, ['HIP']],
  ['shim6', 140, ['Shim6']],
  ['wesp', 141, ['WESP']],
  ['rohc', 142, ['ROHC']],
  ['ethernet', 143, ['Ethernet']],
  ['mptcp', 262, ['MPTCP']],
]

/** Names libxtables knows before /etc/protocols (xtables_chain_protos), the first it prints for its numbers. */
const XTABLES_PROTOS: ReadonlyArray<readonly [string, number]> = [
  ['tcp', 6],
  ['sctp', 132],
  ['udp', 17],
  ['udplite', 136],
  ['icmp', 1],
  ['icmpv6', 58],
  ['ipv6-icmp', 58],
  ['esp', 50],
  ['ah', 51],
  ['ipv6-mh', 135],
  ['mh', 135],
  ['all', 0],
]

const BY_NAME: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>()
  for (const [name, n] of XTABLES_PROTOS) m.set(name, n)
  for (const [name, n, aliases] of ETC_PROTOCOLS) {
    for (const x of [name, ...aliases]) if (!m.has(x.toLowerCase())) m.set(x.toLowerCase(), n)
  }
  return m
})()

/** The protocol number of a name iptables-save or nft may print (or a number as text); undefined when not known. */
export function protocolNumber(name: string): number | undefined {
  const s = name.toLowerCase()
  if (/^\d+$/.test(s)) return Number(s)
  return BY_NAME.get(s)
}
