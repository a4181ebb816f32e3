import type {BpfMapInfo} from '../../model/bpf-map.js'
import {mapNameIs} from '../../probes/bpftool-map.js'

/** The maps Cilium's datapath semantics read: the ipcache (either version), the endpoints, the old tunnel map and the policy tail-call array. */
export const CILIUM_MAP_NAMES = ['cilium_ipcache_v2', 'cilium_ipcache', 'cilium_lxc', 'cilium_tunnel_map', 'cilium_call_policy'] as const
export type CiliumMapName = (typeof CILIUM_MAP_NAMES)[number]

/** The Cilium map a kernel map is, by its (possibly cut) name or, failing that, a pin's file name. */
export function ciliumMapNameOf(m: Pick<BpfMapInfo, 'name' | 'pinned'>): CiliumMapName | undefined {
  for (const full of CILIUM_MAP_NAMES) if (mapNameIs(m.name, full)) return full
  for (const pin of m.pinned ?? []) {
    const base = pin.slice(pin.lastIndexOf('/') + 1)
    if ((CILIUM_MAP_NAMES as readonly string[]).includes(base)) return base as CiliumMapName
  }
  return undefined
}

