import type {HookAttachment, HookKind, XdpMode} from '../model/hooks.js'
import {parseJson, problem, rawJson, shown} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import type {BpftoolNetFacts} from '../model/hooks.js'
import {probe} from './descriptor.js'

/** `bpftool -j net show`: XDP, legacy tc (clsact) and, from bpftool 7.3 on, tcx and netkit attachments of every device. */
export const BPFTOOL_NET_ARGV = ['bpftool', '-j', 'net', 'show'] as const
const PROBE = 'bpftool -j net show'

export const bpftoolNetProbe = probe({argv: BPFTOOL_NET_ARGV}, (t) => parseBpftoolNetJson(t), {attachments: [], flowDissectorProgIds: [], netfilterProgs: 0} as BpftoolNetFacts)

/** bpftool's `kind` for tc entries: "clsact/ingress", "tcx/egress", "netkit/primary"… */
function hookFromBpftoolKind(kind: string): HookKind | undefined {
  switch (kind) {
    case 'clsact/ingress':
      return 'tc-ingress'
    case 'clsact/egress':
      return 'tc-egress'
    case 'tcx/ingress':
      return 'tcx-ingress'
    case 'tcx/egress':
      return 'tcx-egress'
    case 'netkit/primary':
      return 'netkit-primary'
    case 'netkit/peer':
      return 'netkit-peer'
    default:
      return undefined
  }
}

function xdpModeOf(mode: string): XdpMode {
  switch (mode) {
    case 'driver':
    case 'generic':
    case 'offload':
    case 'multi':
      return mode
    case 'offloaded':
      return 'offload'
    default:
      return 'unknown'
  }
}

function attachment(devname: string, ifindex: number, hook: HookKind, progId: number, attachName: string | undefined, linkId?: number): HookAttachment {
  const a: HookAttachment = {ifindex, devname, hook, progId, witnesses: ['bpftool-net']}
  if (attachName !== undefined && attachName !== '') a.attachName = attachName
  if (linkId !== undefined) a.tcx = {position: 0, linkId}
  return a
}

/** Number the tcx/netkit programs of each device and direction in the order bpftool printed them (the kernel's run order). */
function numberPositions(atts: HookAttachment[]): void {
  const seen = new Map<string, number>()
  for (const a of atts) {
    if (!a.tcx) continue
    const key = `${a.ifindex}/${a.hook}`
    const n = (seen.get(key) ?? 0) + 1
    seen.set(key, n)
    a.tcx.position = n
  }
}

/**
 * bpftool (7.1, and later ones: do_show() in tools/bpf/bpftool/net.c) writes the flow dissector's id as a field
 * straight inside its array, `"flow_dissector":["id":58593]`, which is not JSON: read as the object it means, or
 * the whole output would be lost whenever a flow dissector is attached (docs/kernel-notes.md#kn-5-bpftool-net-json).
 */
const FLOW_DISSECTOR_FIELD = /"flow_dissector":\["id":(\d+)\]/g

/**
 * JSON form, e.g. (bpftool 7.1 legacy tc) `{"devname":"eth0","ifindex":2,"kind":"clsact/ingress","name":"bpf_netdev_eth0.o:[from-netdev]","id":2823}`
 * or (bpftool >= 7.3 tcx) `{"devname":"ens18","ifindex":2,"kind":"tcx/ingress","name":"cil_from_netdev","prog_id":1482,"prog_flags":[],"link_id":7,"link_flags":[]}`.
 * Errors come on stdout as `{"error": …}` with exit 255.
 */
export function parseBpftoolNetJson(text: string): Parsed<BpftoolNetFacts> {
  const facts: BpftoolNetFacts = {attachments: [], flowDissectorProgIds: [], netfilterProgs: 0}
  const problems: ParseProblem[] = []
  const {value, problem: p} = parseJson(PROBE, text.replace(FLOW_DISSECTOR_FIELD, '"flow_dissector":[{"id":$1}]'))
  if (p) return {facts, problems: [p]}
  const docs = Array.isArray(value) ? value : [value]
  for (const doc of docs) {
    if (typeof doc !== 'object' || doc === null) {
      problems.push(problem(PROBE, 'expected an object per netns'))
      continue
    }
    const d = doc as Record<string, unknown>
    if (typeof d.error === 'string') {
      problems.push(problem(PROBE, `bpftool error: ${d.error}`))
      continue
    }
    for (const x of asArray(d.xdp)) {
      const e = (x ?? {}) as Record<string, unknown>
      const id = num(e.id ?? e.prog_id)
      if (typeof e.devname !== 'string' || num(e.ifindex) === undefined || id === undefined) {
        problems.push(problem(PROBE, 'xdp entry lacks devname, ifindex or id', undefined, rawJson(x)))
        continue
      }
      const a = attachment(e.devname, num(e.ifindex)!, 'xdp', id, undefined)
      a.xdpMode = xdpModeOf(shown(e.mode ?? ''))
      facts.attachments.push(a)
    }
    for (const t of asArray(d.tc)) {
      const e = (t ?? {}) as Record<string, unknown>
      const hook = typeof e.kind === 'string' ? hookFromBpftoolKind(e.kind) : undefined
      const id = num(e.id ?? e.prog_id)
      if (typeof e.devname !== 'string' || num(e.ifindex) === undefined || id === undefined) {
        problems.push(problem(PROBE, 'tc entry lacks devname, ifindex or program id', undefined, rawJson(t)))
        continue
      }
      if (!hook) {
        problems.push(problem(PROBE, `unknown tc attach kind ${rawJson(e.kind, 60)}`, undefined, rawJson(t)))
        continue
      }
      facts.attachments.push(attachment(e.devname, num(e.ifindex)!, hook, id, typeof e.name === 'string' ? e.name : undefined, hook.startsWith('tc-') ? undefined : (num(e.link_id) ?? 0)))
    }
    for (const f of asArray(d.flow_dissector)) {
      const e = (f ?? {}) as Record<string, unknown>
      const id = num(e.id ?? e.prog_id)
      if (id !== undefined) facts.flowDissectorProgIds.push(id)
    }
    facts.netfilterProgs += asArray(d.netfilter).length
  }
  numberPositions(facts.attachments)
  for (const a of facts.attachments) if (a.tcx && a.tcx.linkId === 0) delete a.tcx.linkId
  return {facts, problems}
}

const TEXT_TC_RE = /^(\S+)\((\d+)\) (\S+)(?: (.*?))?(?: id (\d+)| prog_id (\d+)(?: link_id (\d+))?)(?: .*)?\s*$/
const TEXT_XDP_RE = /^(\S+)\((\d+)\) (\S+)(?: .*?)? (?:id|prog_id) (\d+)\s*$/

/**
 * Plain-text form, as people paste it, e.g. `eth0(2) clsact/ingress bpf_netdev_eth0.o:[from-netdev] id 2823`,
 * `node0(1691) tcx/ingress revnat_ingress prog_id 31356 link_id 600`, `nk1(22) netkit/peer tc1 prog_id 43 link_id 12`.
 * @internal tested directly (a test seam)
 */
export function parseBpftoolNetText(text: string): Parsed<BpftoolNetFacts> {
  const facts: BpftoolNetFacts = {attachments: [], flowDissectorProgIds: [], netfilterProgs: 0}
  const problems: ParseProblem[] = []
  let section: string | undefined
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, i) => {
    const line = raw.trimEnd() // not .replace(/\s+$/, ''): quadratic on a long inner run of blanks
    if (line.trim() === '') return
    const sec = /^(xdp|tc|flow_dissector|netfilter):$/.exec(line.trim())
    if (sec) {
      section = sec[1]
      return
    }
    if (section === 'xdp') {
      const m = TEXT_XDP_RE.exec(line.trim())
      if (!m) return void problems.push(problem(PROBE, 'unrecognised xdp line', i + 1, raw))
      const a = attachment(m[1]!, Number(m[2]), 'xdp', Number(m[4]), undefined)
      a.xdpMode = xdpModeOf(m[3]!)
      facts.attachments.push(a)
    } else if (section === 'tc') {
      const m = TEXT_TC_RE.exec(line.trim())
      const hook = m ? hookFromBpftoolKind(m[3]!) : undefined
      if (!m || !hook) return void problems.push(problem(PROBE, m ? `unknown tc attach kind "${m[3]}"` : 'unrecognised tc line', i + 1, raw))
      const progId = Number(m[5] ?? m[6])
      facts.attachments.push(attachment(m[1]!, Number(m[2]), hook, progId, m[4], hook.startsWith('tc-') ? undefined : Number(m[7] ?? 0)))
    } else if (section === 'flow_dissector') {
      const m = /(?:^|\s)(?:id|prog_id) (\d+)/.exec(line)
      if (m) facts.flowDissectorProgIds.push(Number(m[1]))
      else problems.push(problem(PROBE, 'unrecognised flow_dissector line', i + 1, raw))
    } else if (section === 'netfilter') {
      facts.netfilterProgs++
    } else {
      problems.push(problem(PROBE, 'line outside any section (xdp:, tc:, flow_dissector:, netfilter:)', i + 1, raw))
    }
  })
  numberPositions(facts.attachments)
  for (const a of facts.attachments) if (a.tcx && a.tcx.linkId === 0) delete a.tcx.linkId
  return {facts, problems}
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v)
  return undefined
}
