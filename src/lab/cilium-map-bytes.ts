/**
 * The bytes `lab up` writes into the lab's Cilium maps and reads back, as bpftool's `key hex … value hex …`
 * arguments, in Cilium 1.12's layouts (lab/bpf/cilium_maps.h: change both together).
 */
import {parseIpAddress} from '../util/ip.js'
import {type CILIUM_CALL_POLICY, CILIUM_IPCACHE, CILIUM_LXC, CILIUM_TUNNEL_MAP, type LabCiliumMapName, type LabCiliumNode, type LabEndpointEntry, type LabIpcacheEntry} from './cilium-maps.js'

const h = (bytes: readonly number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]
const le16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff]
const zeros = (n: number) => Array<number>(n).fill(0)
const v4 = (ip: string) => [...(parseIpAddress(ip)?.bytes ?? [])]
const mac = (m: string) => m.split(':').map((x) => Number.parseInt(x, 16))

export function hexLe32(n: number): string {
  return h(le32(n))
}

/** struct ni_ipcache_key: prefixlen = 32 static bits + prefix length, pad1, pad2, family 1, IPv4, 12 zero bytes. */
function ipcacheKeyHex(prefix: string): string {
  const [ip, len] = prefix.split('/') as [string, string]
  return h([...le32(32 + Number(len)), 0, 0, 0, 1, ...v4(ip), ...zeros(12)])
}

/** struct ni_remote_endpoint_info (Cilium 1.12): sec_label, tunnel_endpoint (network order), key, 3 bytes of padding. */
function ipcacheValueHex(e: Pick<LabIpcacheEntry, 'identity' | 'tunnelEndpoint' | 'encryptKey'>): string {
  return h([...le32(e.identity), ...v4(e.tunnelEndpoint), e.encryptKey, 0, 0, 0])
}

/** struct ni_endpoint_key: IPv4 + 12 zero bytes, family 1, key, pad5. */
function endpointKeyHex(ip: string, key = 0): string {
  return h([...v4(ip), ...zeros(12), 1, key, 0, 0])
}

/** struct ni_endpoint_info: ifindex, unused, lxc_id, flags, hole, mac, node_mac, pad. */
function endpointInfoHex(e: Pick<LabEndpointEntry, 'ifindex' | 'endpointId' | 'flags' | 'mac' | 'nodeMac'>): string {
  return h([...le32(e.ifindex), 0, 0, ...le16(e.endpointId), ...le32(e.flags), ...zeros(4), ...mac(e.mac), 0, 0, ...mac(e.nodeMac), 0, 0, ...zeros(16)])
}

/** `bpftool batch` lines: create the node's maps (no BTF) and fill all but the prog array (its programs load later). */
export function ciliumMapsBatch(c: LabCiliumNode): string[] {
  const lines = c.maps.map((m) => `map create ${m.pin} type ${m.type} key ${m.keySize} value ${m.valueSize} entries ${m.maxEntries} name ${m.name} flags ${m.flags}`)
  const pin = (name: LabCiliumMapName) => c.maps.find((m) => m.name === name)!.pin
  for (const e of c.ipcache) lines.push(`map update pinned ${pin(CILIUM_IPCACHE)} key hex ${ipcacheKeyHex(e.prefix)} value hex ${ipcacheValueHex(e)}`)
  for (const e of c.endpoints) lines.push(`map update pinned ${pin(CILIUM_LXC)} key hex ${endpointKeyHex(e.ip)} value hex ${endpointInfoHex(e)}`)
  for (const e of c.tunnels) lines.push(`map update pinned ${pin(CILIUM_TUNNEL_MAP)} key hex ${endpointKeyHex(e.ip)} value hex ${endpointKeyHex(e.tunnelEndpoint, e.encryptKey)}`)
  return lines
}

/** The (key, value) byte strings a dump of the map must show, as bpftool -j prints them without the 0x: 'aa bb …'. */
export function expectedCiliumEntries(c: LabCiliumNode, name: Exclude<LabCiliumMapName, typeof CILIUM_CALL_POLICY>): Array<{key: string; value: string}> {
  if (name === CILIUM_IPCACHE) return c.ipcache.map((e) => ({key: ipcacheKeyHex(e.prefix), value: ipcacheValueHex(e)}))
  if (name === CILIUM_LXC) return c.endpoints.map((e) => ({key: endpointKeyHex(e.ip), value: endpointInfoHex(e)}))
  return c.tunnels.map((e) => ({key: endpointKeyHex(e.ip), value: endpointKeyHex(e.tunnelEndpoint, e.encryptKey)}))
}
