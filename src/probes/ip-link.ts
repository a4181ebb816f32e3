import type {BridgeInfo, BridgePortInfo, Device, DeviceAddress, DeviceKind, MacvlanInfo, VxlanInfo, XdpMode} from '../model/hooks.js'
import {asArray, num} from './bpftool-net.js'
import {parseJson, problem, rawJson, shown} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import {probe} from './descriptor.js'

/** Links with details AND their addresses in one process: `ip -j -d addr show` carries linkinfo plus addr_info. */
const IP_ADDR_ARGV = ['ip', '-j', '-d', 'addr', 'show'] as const
const PROBE = 'ip -j -d addr show'

export const ipLinksProbe = probe({argv: IP_ADDR_ARGV}, parseIpLinkJson, [] as Device[])

const KINDS: Record<string, DeviceKind> = {
  veth: 'veth',
  vxlan: 'vxlan',
  geneve: 'geneve',
  netkit: 'netkit',
  bridge: 'bridge',
  bond: 'bond',
  vlan: 'vlan',
  macvlan: 'macvlan',
  macvtap: 'macvlan',
  ipvlan: 'ipvlan',
  ipvtap: 'ipvlan',
  ifb: 'ifb',
  dummy: 'dummy',
  wireguard: 'wireguard',
  tun: 'tun',
  ipip: 'ipip',
  sit: 'ipip',
  ip6tnl: 'ipip',
  gre: 'gre',
  gretap: 'gre',
  ip6gre: 'gre',
  ip6gretap: 'gre',
}

function deviceKind(infoKind: string | undefined, linkType: string | undefined, name: string): DeviceKind {
  if (infoKind) return KINDS[infoKind] ?? 'other'
  if (linkType === 'loopback' || name === 'lo') return 'loopback'
  if (linkType === 'ether' || linkType === 'none' || linkType === undefined) return 'physical'
  return 'other'
}

const XDP_MODES: Record<number, XdpMode> = {1: 'driver', 2: 'generic', 3: 'offload', 4: 'multi'}

/**
 * e.g. `{"ifindex":43,"link_index":42,"ifname":"lxc48c4aa0637ce","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,
 * "operstate":"UP","address":"ae:36:76:3e:c3:03","link_netnsid":0,"linkinfo":{"info_kind":"veth"},"addr_info":[…]}`.
 * A veth peer in another netns has `link_index` + `link_netnsid` (the nsid as seen from here) and no `link` name;
 * one in the same netns has `link` (its name) only (docs/kernel-notes.md#kn-2-veth-peer-fields).
 */
export function parseIpLinkJson(text: string): Parsed<Device[]> {
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts: [], problems: [p]}
  if (!Array.isArray(value)) return {facts: [], problems: [problem(PROBE, 'expected a list of links')]}
  const facts: Device[] = []
  const problems: ParseProblem[] = []
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    const ifindex = num(e.ifindex)
    if (ifindex === undefined || typeof e.ifname !== 'string') {
      problems.push(problem(PROBE, 'link entry lacks ifindex or ifname', undefined, rawJson(v)))
      continue
    }
    const li = (e.linkinfo ?? {}) as Record<string, unknown>
    const infoKind = typeof li.info_kind === 'string' ? li.info_kind : undefined
    const kind = deviceKind(infoKind, typeof e.link_type === 'string' ? e.link_type : undefined, e.ifname)
    const dev: Device = {ifindex, name: e.ifname, kind, flags: asArray(e.flags).map(shown), altnames: asArray(e.altnames).map(shown), addresses: []}
    if (infoKind) dev.kindRaw = infoKind
    if (typeof li.info_slave_kind === 'string') dev.slaveKind = li.info_slave_kind
    if (typeof e.address === 'string') dev.mac = e.address
    if (num(e.mtu) !== undefined) dev.mtu = num(e.mtu)
    if (typeof e.operstate === 'string') dev.operstate = e.operstate
    if (typeof e.master === 'string') dev.master = e.master
    const linkName = typeof e.link === 'string' ? e.link : undefined
    const linkIndex = num(e.link_index)
    const nsid = num(e.link_netnsid)
    if (kind === 'veth' || kind === 'netkit') {
      if (nsid !== undefined) dev.peer = {ifindex: linkIndex, netnsId: nsid, sameNetns: false}
      else if (linkName !== undefined || linkIndex !== undefined) dev.peer = {name: linkName, ifindex: linkIndex, sameNetns: true}
      if (dev.peer) for (const k of ['ifindex', 'name'] as const) if (dev.peer[k] === undefined) delete dev.peer[k]
    } else if (linkName !== undefined) {
      dev.lower = linkName
    }
    if (kind === 'vxlan') dev.vxlan = vxlanFromJson((li.info_data ?? {}) as Record<string, unknown>)
    if (kind === 'bridge') dev.bridge = bridgeFromJson((li.info_data ?? {}) as Record<string, unknown>)
    if (kind === 'macvlan') dev.macvlan = macvlanFromJson((li.info_data ?? {}) as Record<string, unknown>, linkIndex, nsid)
    if (dev.slaveKind === 'bridge') dev.bridgePort = bridgePortFromJson((li.info_slave_data ?? {}) as Record<string, unknown>)
    // A vxlan device moved out of the netns it was made in keeps its underlay there: ip prints that netns's nsid.
    if (dev.vxlan && nsid !== undefined) dev.vxlan.underlayNetnsId = nsid
    for (const a of asArray(e.addr_info)) {
      const ai = (a ?? {}) as Record<string, unknown>
      if ((ai.family === 'inet' || ai.family === 'inet6') && typeof ai.local === 'string' && num(ai.prefixlen) !== undefined) {
        const addr: DeviceAddress = {family: ai.family, local: ai.local, prefixlen: num(ai.prefixlen)!}
        if (typeof ai.scope === 'string') addr.scope = ai.scope
        dev.addresses.push(addr)
      }
    }
    const xdp = e.xdp as Record<string, unknown> | undefined
    if (xdp && typeof xdp === 'object') {
      const progId = num((xdp.prog as Record<string, unknown> | undefined)?.id)
      dev.xdp = {mode: XDP_MODES[num(xdp.mode) ?? 0] ?? 'unknown'}
      if (progId !== undefined) dev.xdp.progId = progId
      // In multi mode (a driver and an offloaded program at once) the kernel sends no IFLA_XDP_PROG_ID, only one
      // id per mode (rtnl_xdp_fill(), net/core/rtnetlink.c); iproute2 lists them in `attached` (ip/iplink_xdp.c).
      const attached = asArray(xdp.attached).flatMap((x) => {
        const a = (x ?? {}) as Record<string, unknown>
        const id = num((a.prog as Record<string, unknown> | undefined)?.id)
        return id === undefined ? [] : [{mode: XDP_MODES[num(a.mode) ?? 0] ?? ('unknown' as const), progId: id}]
      })
      if (progId === undefined && attached.length > 0) dev.xdp.attached = attached
    }
    facts.push(dev)
  }
  return {facts, problems}
}

function bridgeFromJson(d: Record<string, unknown>): BridgeInfo {
  const b: BridgeInfo = {}
  if (num(d.vlan_filtering) !== undefined) b.vlanFiltering = num(d.vlan_filtering) === 1
  if (num(d.nf_call_iptables) !== undefined) b.nfCallIptables = num(d.nf_call_iptables) === 1
  return b
}

function bridgePortFromJson(d: Record<string, unknown>): BridgePortInfo {
  const p: BridgePortInfo = {}
  if (typeof d.hairpin === 'boolean') p.hairpin = d.hairpin
  if (typeof d.state === 'string') p.state = d.state
  return p
}

/**
 * e.g. `{"ifindex":4,"link_index":3,"ifname":"mva","link_netnsid":0,"linkinfo":{"info_kind":"macvlan","info_data":{"mode":"bridge","bcqueuelen":1000}}}`:
 * a macvlan moved out of its lower device's netns names that device by ifindex and nsid only.
 */
function macvlanFromJson(d: Record<string, unknown>, linkIndex: number | undefined, nsid: number | undefined): MacvlanInfo {
  const m: MacvlanInfo = {}
  if (typeof d.mode === 'string') m.mode = d.mode
  if (linkIndex !== undefined) m.lowerIfindex = linkIndex
  if (nsid !== undefined) m.lowerNetnsId = nsid
  return m
}

function vxlanFromJson(d: Record<string, unknown>): VxlanInfo {
  const v: VxlanInfo = {}
  if (num(d.id) !== undefined) v.vni = num(d.id)
  if (num(d.port) !== undefined) v.port = num(d.port)
  if (typeof d.local === 'string') v.local = d.local
  if (typeof d.remote === 'string') v.remote = d.remote
  if (typeof d.group === 'string') v.group = d.group
  if (typeof d.link === 'string') v.dev = d.link
  if (d.external === true || d.collect_metadata === true) v.external = true
  if (typeof d.learning === 'boolean') v.learning = d.learning
  return v
}

const HEAD_RE = /^(\d+):\s+([^:@\s]+)(?:@([^:\s]+))?:\s+<([^>]*)>(.*)$/

/**
 * Text form (`ip -d link show`, or `ip a`), as pasted from real nodes, e.g.
 * `4: cali672f36e7b7a@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP mode DEFAULT group default qlen 1000`
 * `    link/ether ee:ee:ee:ee:ee:ee brd ff:ff:ff:ff:ff:ff link-netns 22c34064-… promiscuity 0 …`
 * `    veth addrgenmode eui64 …` / `    vxlan id 4096 local 10.0.0.11 dev enp2s0 srcport 0 0 dstport 4789 …`.
 * `name@ifN` names the peer's ifindex in another netns; `name@peer` a peer (or lower device) in the same one.
 * @internal tested directly (a test seam)
 */
export function parseIpLinkText(text: string): Parsed<Device[]> {
  const facts: Device[] = []
  const problems: ParseProblem[] = []
  let cur: Device | undefined
  let at: string | undefined
  // `ip a` / `ip link` without -d print no kind at all: such a device's kind is unknown, not "physical".
  const detailed = new Set<Device>()
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trimEnd()
    if (line.trim() === '') return
    const head = HEAD_RE.exec(line)
    if (head) {
      const rest = head[5]!
      cur = {ifindex: Number(head[1]), name: head[2]!, kind: 'physical', flags: head[4]!.split(',').filter(Boolean), altnames: [], addresses: []}
      at = head[3]
      const mtu = /\bmtu (\d+)/.exec(rest)
      if (mtu) cur.mtu = Number(mtu[1])
      const st = /\bstate (\S+)/.exec(rest)
      if (st) cur.operstate = st[1]
      const master = /\bmaster (\S+)/.exec(rest)
      if (master) cur.master = master[1]
      facts.push(cur)
      return
    }
    if (!cur || !/^\s/.test(line)) return void problems.push(problem('ip link show (text)', 'unrecognised line', i + 1, raw))
    const t = line.trim().split(/\s+/)
    const first = t[0]!
    if (first.startsWith('link/')) {
      if (t.includes('promiscuity')) detailed.add(cur)
      if (first === 'link/loopback') cur.kind = 'loopback'
      else if (first !== 'link/ether') cur.kind = 'other'
      if (t[1] && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(t[1])) cur.mac = t[1]
      const ns = t.indexOf('link-netns')
      const nsid = t.indexOf('link-netnsid')
      const peerIf = at && /^if\d+$/.test(at) ? Number(at.slice(2)) : undefined
      if (ns >= 0 || nsid >= 0) {
        cur.peer = {sameNetns: false}
        if (peerIf !== undefined) cur.peer.ifindex = peerIf
        if (ns >= 0 && t[ns + 1]) cur.peer.netns = t[ns + 1]
        if (nsid >= 0 && t[nsid + 1]) cur.peer.netnsId = Number(t[nsid + 1])
      } else if (at && peerIf === undefined) {
        cur.peer = {name: at, sameNetns: true}
      }
      return
    }
    if (first === 'altname') {
      if (t[1]) cur.altnames.push(t[1])
      return
    }
    if (first === 'inet' || first === 'inet6') {
      const m = /^(.+)\/(\d+)$/.exec(t[1] ?? '')
      if (m) {
        const a: DeviceAddress = {family: first, local: m[1]!, prefixlen: Number(m[2])}
        const sc = t.indexOf('scope')
        if (sc >= 0 && t[sc + 1]) a.scope = t[sc + 1]
        cur.addresses.push(a)
      }
      return
    }
    if (first === 'valid_lft' || first === 'prog/xdp') return
    if (/^[a-z][a-z0-9_]*$/.test(first) && !['promiscuity', 'addrgenmode', 'minmtu', 'numtxqueues', 'allmulti'].includes(first)) {
      if (first.endsWith('_slave')) {
        cur.slaveKind = first.replace(/_slave$/, '')
        return
      }
      const kind = KINDS[first]
      if (kind) {
        cur.kind = kind
        cur.kindRaw = first
        if (kind === 'vxlan') cur.vxlan = vxlanFromText(t)
        if (kind !== 'veth' && kind !== 'netkit' && cur.peer?.sameNetns) {
          cur.lower = cur.peer.name
          delete cur.peer
        }
      }
    }
  })
  for (const d of facts) if (d.kind === 'physical' && !detailed.has(d)) d.kind = 'other'
  return {facts, problems}
}

function vxlanFromText(t: string[]): VxlanInfo {
  const v: VxlanInfo = {}
  const get = (k: string): string | undefined => {
    const i = t.indexOf(k)
    return i >= 0 ? t[i + 1] : undefined
  }
  if (t.includes('external')) v.external = true
  const id = get('id')
  if (id !== undefined) v.vni = Number(id)
  const port = get('dstport')
  if (port !== undefined) v.port = Number(port)
  for (const k of ['local', 'remote', 'group'] as const) {
    const x = get(k)
    if (x !== undefined) v[k] = x
  }
  const dev = get('dev')
  if (dev !== undefined) v.dev = dev
  if (t.includes('nolearning')) v.learning = false
  else if (t.includes('learning')) v.learning = true
  return v
}
