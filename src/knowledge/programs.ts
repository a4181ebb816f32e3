import type {BpfProgram, HookAttachment} from '../model/hooks.js'

/**
 * Known eBPF programs, recognised by the section they were loaded from (iproute2's `object:[section]` name) or by
 * their program name (Cilium >= 1.13 names its entry points `cil_*`), or by the prog-array slot a datapath's tail
 * call took to it. Data, not code paths: what each one is for. Recognition is by name or slot only, so the report
 * says how it was recognised, never that the code was verified. What a recognised program does to a packet is a
 * datapath plugin's (src/datapaths/).
 */
interface KnownProgram {
  software: string
  /** The program's role in that software's datapath, as its sources name it. */
  role: string
  summary: string
  /** Section names (legacy iproute2 loading) and program names (bpftool `name`) that identify it. */
  sections: string[]
  names: string[]
  /** Known helper semantics that a path walk may use. */
  canRedirect?: boolean
}

const KNOWN_PROGRAMS: KnownProgram[] = [
  {
    software: 'Cilium',
    role: 'from-container',
    summary: 'pod egress (packets leaving the pod): policy, then route or encapsulate',
    sections: ['from-container'],
    names: ['cil_from_container'],
    canRedirect: true,
  },
  {
    software: 'Cilium',
    role: 'to-container',
    summary: 'pod ingress: ingress policy, then delivery to the pod',
    sections: ['to-container'],
    names: ['cil_to_container', 'cil_lxc_policy'],
    canRedirect: true,
  },
  {
    software: 'Cilium',
    role: 'from-overlay',
    summary: 'overlay ingress: decapsulated packets, delivered to a local endpoint or the host',
    sections: ['from-overlay'],
    names: ['cil_from_overlay'],
    canRedirect: true,
  },
  {
    software: 'Cilium',
    role: 'to-overlay',
    summary: 'overlay egress: NodePort SNAT for tunnelled traffic, then the stack',
    sections: ['to-overlay'],
    names: ['cil_to_overlay'],
  },
  {
    software: 'Cilium',
    role: 'from-netdev',
    summary: 'uplink ingress: NodePort/LB, host firewall, IPsec decrypt, then the stack',
    sections: ['from-netdev', 'from-network'],
    names: ['cil_from_netdev', 'cil_from_network'],
    canRedirect: true,
  },
  {
    software: 'Cilium',
    role: 'to-netdev',
    summary: 'uplink egress: BPF masquerade/SNAT, host firewall, egress gateway',
    sections: ['to-netdev'],
    names: ['cil_to_netdev'],
    canRedirect: true,
  },
  {
    software: 'Cilium',
    role: 'from-host',
    summary: 'host stack towards endpoints (cilium_host egress): host policy, then delivery',
    sections: ['from-host'],
    names: ['cil_from_host'],
    canRedirect: true,
  },
  {
    software: 'Cilium',
    role: 'to-host',
    summary: 'into the host stack (cilium_host/cilium_net ingress): proxy redirect, host policy',
    sections: ['to-host'],
    names: ['cil_to_host'],
  },
  {
    software: 'Cilium',
    role: 'xdp',
    summary: 'XDP entry: prefilter and NodePort acceleration',
    sections: ['from-netdev-xdp', 'xdp'],
    names: ['cil_xdp_entry', 'bpf_xdp_entry'],
    canRedirect: true,
  },
  {
    software: 'Calico (eBPF dataplane)',
    role: 'from-workload',
    summary: 'workload egress (packets leaving the pod): policy, NAT, then forward',
    sections: [],
    names: ['calico_from_workload_ep', 'calico_tc_main'],
    canRedirect: true,
  },
  {
    software: 'Calico (eBPF dataplane)',
    role: 'to-workload',
    summary: 'workload ingress: policy, then delivery to the pod',
    sections: [],
    names: ['calico_to_workload_ep'],
  },
  {
    software: 'Calico (eBPF dataplane)',
    role: 'from-host-endpoint',
    summary: 'host endpoint ingress: NodePort NAT, host policy',
    sections: [],
    names: ['calico_from_host_ep'],
    canRedirect: true,
  },
  {
    software: 'Calico (eBPF dataplane)',
    role: 'to-host-endpoint',
    summary: 'host endpoint egress: SNAT, host policy',
    sections: [],
    names: ['calico_to_host_ep'],
  },
]

export interface Recognition {
  software: string
  role: string
  summary: string
  /** What matched: the section of `object:[section]`, the program name, or the prog-array slot a tail call took to it. */
  matchedBy: 'section' | 'program-name' | 'tail-call'
  matched: string
  canRedirect: boolean
}

/** Kernel program names are cut to 15 characters (BPF_OBJ_NAME_LEN); a 15-character name matches as a prefix. */
function nameMatches(known: string, name: string): boolean {
  return known === name || (name.length === 15 && known.startsWith(name))
}

/** Cilium 1.14's loader names tc filters `cil_from_container-lxced3096cb2cb1`: the program name plus the device. */
function stripDeviceSuffix(name: string): string {
  return name.replace(/-[A-Za-z0-9_.]+$/, '')
}

/**
 * The known program an attachment runs, if any: by the section of its iproute2 name (`bpf_lxc.o:[from-container]`,
 * from the tc filter or bpftool's view of it), else by the program's name or the attachment's.
 */
export function recogniseAttachment(a: Pick<HookAttachment, 'attachName' | 'tc'>, p: Pick<BpfProgram, 'name'> | undefined): Recognition | undefined {
  const {section} = splitObjectSection(a.tc?.bpfName ?? a.attachName)
  return recogniseProgram(section, p?.name, a.attachName)
}

function recogniseProgram(section: string | undefined, progName: string | undefined, attachName: string | undefined): Recognition | undefined {
  for (const k of KNOWN_PROGRAMS) {
    if (section && k.sections.includes(section)) return hit(k, 'section', section)
  }
  const names = [progName, attachName && !attachName.includes(':[') ? stripDeviceSuffix(attachName) : undefined].filter((n): n is string => !!n)
  for (const k of KNOWN_PROGRAMS) {
    for (const n of names) if (k.names.some((kn) => nameMatches(kn, n))) return hit(k, 'program-name', n)
  }
  return undefined
}

/** A program known by where a tail call found it (`cilium_call_policy[2826]` holds endpoint 2826's to-container program), not by its name. */
export function recogniseTailCallTarget(software: string, role: string, slot: string): Recognition | undefined {
  const k = KNOWN_PROGRAMS.find((x) => x.software === software && x.role === role)
  return k ? hit(k, 'tail-call', slot) : undefined
}

function hit(k: KnownProgram, matchedBy: Recognition['matchedBy'], matched: string): Recognition {
  return {software: k.software, role: k.role, summary: k.summary, matchedBy, matched, canRedirect: k.canRedirect ?? false}
}

/** `bpf_lxc.o:[from-container]` → {object: 'bpf_lxc.o', section: 'from-container'} (iproute2's TCA_BPF_NAME). */
export function splitObjectSection(name: string | undefined): {object?: string; section?: string} {
  const m = name ? /^(.*):\[(.*)\]$/.exec(name) : null
  return m ? {object: m[1], section: m[2]} : {}
}
