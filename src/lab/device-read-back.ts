/**
 * What both labs (the Cilium-like one and the CNI variants) record of each device they read back from
 * `ip -j [-d] addr show` / `ip -j link show`: where it is, its name, index, MAC, kind and IPv4 addresses.
 */

/** The fields of one `ip -j` device entry read here (either command prints them). */
export interface IpDeviceJson {
  ifindex: number
  ifname: string
  address?: string
  linkinfo?: {info_kind?: string}
  addr_info?: Array<{family?: string; local?: string; prefixlen?: number}>
}

export interface DeviceBasics {
  netns: string
  name: string
  ifindex: number
  mac: string
  kind: string
  addresses: string[]
}

export function deviceBasics(netns: string, l: IpDeviceJson): DeviceBasics {
  return {
    netns,
    name: l.ifname,
    ifindex: l.ifindex,
    mac: l.address ?? '',
    kind: l.linkinfo?.info_kind ?? 'unknown',
    addresses: (l.addr_info ?? []).filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`),
  }
}
