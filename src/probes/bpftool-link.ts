import {num} from './bpftool-net.js'
import {parseJson, problem, shown} from './parsed.js'
import type {Parsed} from '../model/warning.js'
import type {BpfLink} from '../model/hooks.js'
import {probe} from './descriptor.js'

/**
 * `bpftool -j link show`: with bpftool 7.1 a tcx link shows only as `{"id":90,"type":11,"prog_id":136}` — no device,
 * no direction (docs/kernel-notes.md#kn-3-tcx-invisible-to-debian-tools). Used to tell the user how many tcx/netkit
 * links exist when nothing else can place them.
 */
const BPFTOOL_LINK_ARGV = ['bpftool', '-j', 'link', 'show'] as const
const PROBE = 'bpftool -j link show'

export const bpftoolLinkProbe = probe({argv: BPFTOOL_LINK_ARGV}, (t) => parseBpftoolLinkJson(t), [] as BpfLink[])

/** BPF_LINK_TYPE numbers bpftool 7.1 prints raw (include/uapi/linux/bpf.h). */
const LINK_TYPES: Record<number, string> = {6: 'xdp', 11: 'tcx', 12: 'uprobe_multi', 13: 'netkit', 14: 'sockmap'}

/** @internal tested directly (a test seam) */
export function parseBpftoolLinkJson(text: string): Parsed<BpfLink[]> {
  if (text.trim() === '') return {facts: [], problems: []}
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts: [], problems: [p]}
  if (!Array.isArray(value)) {
    const err = (value as {error?: unknown} | null)?.error
    return {facts: [], problems: [problem(PROBE, typeof err === 'string' ? `bpftool error: ${err}` : 'expected a list of links')]}
  }
  const facts: BpfLink[] = []
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    const id = num(e.id)
    if (id === undefined) continue
    const t = typeof e.type === 'string' ? e.type : (LINK_TYPES[num(e.type) ?? -1] ?? shown(e.type))
    const l: BpfLink = {id, type: t}
    if (num(e.prog_id) !== undefined) l.progId = num(e.prog_id)
    if (num(e.ifindex) !== undefined) l.ifindex = num(e.ifindex)
    facts.push(l)
  }
  return {facts, problems: []}
}
