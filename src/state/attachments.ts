import type {HookAttachment} from '../model/hooks.js'
import type {HooksFacts} from '../model/node-state.js'
import type {SourceMeta} from '../model/node-meta.js'

/** Merge what bpftool, tc, ip-link and the helper each saw into one attachment per (device, hook, program). */
export function mergeAttachments(inputs: Pick<HooksFacts, 'devices' | 'bpftoolNet' | 'tc' | 'helper'>): HookAttachment[] {
  const ifindexByName = new Map(inputs.devices.map((d) => [d.name, d.ifindex]))
  const byKey = new Map<string, HookAttachment>()
  const add = (a: HookAttachment): void => {
    const ifindex = a.ifindex || ifindexByName.get(a.devname) || 0
    const key = `${ifindex}|${a.hook}|${a.progId}`
    const cur = byKey.get(key)
    if (!cur) {
      byKey.set(key, {...a, ifindex, witnesses: [...a.witnesses]})
      return
    }
    for (const w of a.witnesses) if (!cur.witnesses.includes(w)) cur.witnesses.push(w)
    if (a.tc) cur.tc = {...cur.tc, ...a.tc}
    if (a.tcx) cur.tcx = {...a.tcx, ...cur.tcx, linkId: cur.tcx?.linkId ?? a.tcx.linkId, revision: a.tcx.revision ?? cur.tcx?.revision, position: a.tcx.position || cur.tcx?.position || 0}
    if (a.xdpMode && (!cur.xdpMode || cur.xdpMode === 'unknown')) cur.xdpMode = a.xdpMode
    if (!cur.attachName && a.attachName) cur.attachName = a.attachName
  }
  inputs.bpftoolNet.attachments.forEach(add)
  inputs.tc.bpf.forEach(add)
  // The helper's BPF_PROG_QUERY order is the kernel's run order: it wins for tcx positions.
  inputs.helper.attachments.forEach((a) => add(a))
  for (const d of inputs.devices) {
    if (d.xdp?.progId !== undefined) add({ifindex: d.ifindex, devname: d.name, hook: 'xdp', progId: d.xdp.progId, xdpMode: d.xdp.mode, witnesses: ['ip-link']})
    // Multi mode: each program with its own mode, as bpftool net lists them.
    for (const x of d.xdp?.attached ?? []) add({ifindex: d.ifindex, devname: d.name, hook: 'xdp', progId: x.progId, xdpMode: x.mode, witnesses: ['ip-link']})
  }
  for (const a of inputs.helper.attachments) {
    const cur = byKey.get(`${a.ifindex}|${a.hook}|${a.progId}`)
    if (cur && a.tcx) cur.tcx = {...cur.tcx, ...a.tcx, linkId: a.tcx.linkId ?? cur.tcx?.linkId}
  }
  return [...byKey.values()]
}

/** How a node is named in a path: the netns it was read in, or its hostname. */
export function nodeLabel(meta: SourceMeta): string {
  return meta.netns ?? meta.hostname ?? 'node'
}
