/** BPF maps as bpftool lists and dumps them: facts any datapath's map reader shares. */

export interface BpfMapInfo {
  id: number
  /** bpftool's name for the type: 'hash', 'lpm_trie', 'prog_array'… (a number as a string when bpftool does not know it). */
  type: string
  /** The kernel's name: at most 15 characters (BPF_OBJ_NAME_LEN 16 with the NUL); '' when the map has none. */
  name: string
  keySize: number
  valueSize: number
  maxEntries: number
  flags: number
  btfId?: number
  /** Pin paths, printed only with `bpftool -f`. */
  pinned?: string[]
  /** Prog arrays: the program type that owns the array once a program uses it, e.g. 'sched_cls'. */
  ownerProgType?: string
}

export interface ProgArrayEntry {
  /** The slot: for cilium_call_policy, the endpoint id. */
  key: number
  /** The program in the slot (bpftool prints the id, not the fd the array holds in the kernel). */
  progId: number
}

