import type {HookAttachment, HookKind} from '../model/hooks.js'
import {BPF_HELPER} from '../source/live.js'
import {asArray, num} from './bpftool-net.js'
import {parseJson, problem, rawJson, shown} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import type {BpfHelperFacts} from '../model/hooks.js'
import {probe} from './descriptor.js'

/**
 * The project's own helper (native/nodeinspect-bpf.c): BPF_PROG_QUERY per device for tcx and netkit, which
 * Debian 12's bpftool 7.1 and tc cannot see at all (docs/kernel-notes.md#kn-3-tcx-invisible-to-debian-tools),
 * and BPF_PROG_QUERY on the netns for its flow dissector. One process for every device of a netns.
 */
const BPF_HELPER_QUERY_ARGV = [BPF_HELPER, 'query'] as const
const PROBE = 'nodeinspect-bpf query'

export const bpfHelperQueryProbe = probe({argv: BPF_HELPER_QUERY_ARGV}, (t) => parseBpfHelperQuery(t), {attachments: []} as BpfHelperFacts)

const ATTACH: Record<string, HookKind> = {
  tcx_ingress: 'tcx-ingress',
  tcx_egress: 'tcx-egress',
  netkit_primary: 'netkit-primary',
  netkit_peer: 'netkit-peer',
}

/**
 * e.g. `{"helper":"nodeinspect-bpf","version":1,"queried":5,"tcx_supported":true,"flow_dissector":{"supported":true,"progs":[{"prog_id":7}]},
 * "attachments":[{"ifindex":2,"devname":"eth0","attach_type":"tcx_ingress","revision":3,"progs":[{"prog_id":140,"link_id":91}]}],"errors":[]}`.
 * `flow_dissector` is absent from helpers built before it was asked (snapshots of them), and holds `error`
 * when the query failed: then the flow dissector is not known from the helper.
 * @internal tested directly (a test seam)
 */
export function parseBpfHelperQuery(text: string): Parsed<BpfHelperFacts> {
  const facts: BpfHelperFacts = {attachments: []}
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts, problems: [p]}
  const d = (value ?? {}) as Record<string, unknown>
  if (typeof d.error === 'string') return {facts, problems: [problem(PROBE, `helper error: ${d.error}`)]}
  if (d.helper !== 'nodeinspect-bpf' || d.version !== 1) return {facts, problems: [problem(PROBE, `unknown helper output (helper ${rawJson(d.helper, 60)}, version ${rawJson(d.version, 60)})`)]}
  const problems: ParseProblem[] = []
  if (typeof d.tcx_supported === 'boolean') facts.tcxSupported = d.tcx_supported
  if (typeof d.netkit_supported === 'boolean') facts.netkitSupported = d.netkit_supported
  if (num(d.queried) !== undefined) facts.queried = num(d.queried)
  if (d.flow_dissector !== undefined) {
    const fd = (d.flow_dissector ?? {}) as Record<string, unknown>
    if (typeof fd.error === 'string' || !Array.isArray(fd.progs)) problems.push(problem(PROBE, `flow dissector: ${typeof fd.error === 'string' ? shown(fd.error) : `no program list in ${rawJson(d.flow_dissector, 80)}`}`))
    else {
      facts.flowDissectorProgIds = []
      for (const pr of fd.progs) {
        const id = num(((pr ?? {}) as Record<string, unknown>).prog_id)
        if (id === undefined) problems.push(problem(PROBE, 'flow dissector program entry lacks prog_id', undefined, rawJson(pr)))
        else facts.flowDissectorProgIds.push(id)
      }
    }
  }
  for (const a of asArray(d.attachments)) {
    const e = (a ?? {}) as Record<string, unknown>
    const hook = typeof e.attach_type === 'string' ? ATTACH[e.attach_type] : undefined
    const ifindex = num(e.ifindex)
    if (!hook || ifindex === undefined || typeof e.devname !== 'string') {
      problems.push(problem(PROBE, 'attachment lacks ifindex, devname or a known attach_type', undefined, rawJson(a)))
      continue
    }
    asArray(e.progs).forEach((pr, i) => {
      const q = (pr ?? {}) as Record<string, unknown>
      const progId = num(q.prog_id)
      if (progId === undefined) return void problems.push(problem(PROBE, 'program entry lacks prog_id', undefined, rawJson(pr)))
      const att: HookAttachment = {ifindex, devname: e.devname as string, hook, progId, tcx: {position: i + 1}, witnesses: ['bpf-helper']}
      const linkId = num(q.link_id)
      if (linkId !== undefined && linkId !== 0) att.tcx!.linkId = linkId
      if (num(e.revision) !== undefined) att.tcx!.revision = num(e.revision)
      facts.attachments.push(att)
    })
  }
  for (const er of asArray(d.errors)) {
    const e = (er ?? {}) as Record<string, unknown>
    problems.push(problem(PROBE, `${shown(e.devname)} ${shown(e.attach_type)}: ${shown(e.message ?? e.errno)}`))
  }
  return {facts, problems}
}
