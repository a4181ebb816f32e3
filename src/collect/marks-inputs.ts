import {analyseMarkAccess} from '../analyses/bpf-mark-access.js'
import {mergeAttachments} from '../analyses/hooks.js'
import {MARK_SOURCES} from '../analyses/mark-sources/registry.js'
import type {AttachedProgram, MarkFacts} from '../analyses/mark-sources/source.js'
import {UsageIds} from '../analyses/mark-sources/usage.js'
import type {MarkUsage} from '../analyses/mark-usage.js'
import {recogniseProgram, splitObjectSection} from '../knowledge/programs.js'
import type {NftTable, XtRuleset} from '../model/netfilter.js'
import {collectBpftoolXlated, parseBpftoolXlatedDumps} from '../probes/bpftool-xlated.js'
import type {IpRule} from '../model/routing.js'
import {collectIpXfrmPolicy, collectIpXfrmState, parseIpXfrmPolicy, parseIpXfrmState} from '../probes/ip-xfrm.js'
import type {XfrmPolicy, XfrmState} from '../model/xfrm.js'
import {parseIptablesSaveForMarks} from '../probes/iptables-save.js'
import {collectNftChains} from '../probes/nft-ruleset.js'
import {collectNativeNftTables} from './native-nft.js'
import type {Warning} from '../model/warning.js'
import {collectSkBuffLayout, parseSkBuffLayoutJson} from '../probes/sk-buff-layout.js'
import {collectSsMarks, parseSsSockets} from '../probes/ss-marks.js'
import type {SsSocket} from '../model/socket.js'
import type {RawOutput, Source, SourceMeta} from '../source/types.js'
import {collectHooksInputs, TC_PROBE, type HooksInputs} from './hooks-inputs.js'
import {collectIpRulesBoth, collectXtDumps, parseIpRulesBoth, parseXtDumps} from './netfilter-dumps.js'
import {sourceRead, type SourceRead} from './readable.js'
import {take} from './take.js'

export interface MarksInputs {
  meta: SourceMeta
  hooks: HooksInputs
  /** iptables/ip6tables dumps (nft and legacy backends) holding only their mark-related rules. */
  xt: XtRuleset[]
  /** Native nft tables (iptables-nft's own are read through iptables-save). */
  nft?: NftTable[]
  ipRules: IpRule[]
  xfrmStates: XfrmState[]
  xfrmPolicies: XfrmPolicy[]
  sockets: SsSocket[]
  usages: MarkUsage[]
  /**
   * Each source of mark use and whether it was read: iptables/ip6tables (the legacy dumps only where their tools
   * exist), nft, ip rule, xfrm, ss, tc filters and the eBPF programs on hooks. All failed: `marks` has no answer.
   */
  readable: SourceRead[]
  warnings: Warning[]
}

/** Program types whose context is __sk_buff, where skb->mark means something. */
const SKB_PROG_TYPES = new Set(['sched_cls', 'sched_act', 'cgroup_skb', 'socket_filter', 'lwt_in', 'lwt_out', 'lwt_xmit', 'sk_skb'])

/**
 * Every source of mark use on a node, read in parallel: iptables/ip6tables (nft and legacy backends), native
 * nft tables, ip rules, xfrm, tc filters, and the eBPF programs on hooks (their xlated instructions).
 */
export async function collectMarksInputs(src: Source): Promise<MarksInputs> {
  const warnings: Warning[] = []
  const [hooks, xtOuts, nftOut, rules, xs, xp, skb, ss] = await Promise.all([
    collectHooksInputs(src, {podIps: false}),
    collectXtDumps(src),
    collectNftChains(src),
    collectIpRulesBoth(src),
    collectIpXfrmState(src),
    collectIpXfrmPolicy(src),
    collectSkBuffLayout(src),
    collectSsMarks(src),
  ])
  const xt = parseXtDumps(xtOuts, warnings, parseIptablesSaveForMarks)
  const nftTables = await collectNativeNftTables(src, nftOut, xt, warnings)
  const ipRules = parseIpRulesBoth(rules, warnings)
  const xfrmStates = take('ip xfrm state', xs, (o) => parseIpXfrmState(o.stdout), [] as XfrmState[], warnings)
  const xfrmPolicies = take('ip xfrm policy', xp, (o) => parseIpXfrmPolicy(o.stdout), [] as XfrmPolicy[], warnings)
  const sockets = take('ss -e -p', ss, (o) => parseSsSockets(o.stdout), [] as SsSocket[], warnings)
  const markOffset = take('sk_buff layout (BTF)', skb, (o) => parseSkBuffLayoutJson(o.stdout), {} as {mark?: number}, warnings).mark

  // eBPF: the programs on this netns's hooks, each dumped once (one process per shared name, bounded parallelism).
  const programs = new Map(hooks.programs.map((p) => [p.id, p]))
  const attached = new Map<number, AttachedProgram>()
  for (const a of mergeAttachments(hooks)) {
    const p = programs.get(a.progId)
    if (p && !SKB_PROG_TYPES.has(p.type)) continue
    const {section} = splitObjectSection(a.tc?.bpfName ?? a.attachName)
    const hook = `${a.hook.replace('-', ' ')} ${a.devname}`
    const cur = attached.get(a.progId)
    if (cur) cur.hooks.push(hook)
    else {
      const software = recogniseProgram(section, p?.name, a.attachName)?.software
      attached.set(a.progId, {progId: a.progId, ...(p?.name ? {progName: p.name} : {}), hooks: [hook], ...(software ? {software} : {})})
    }
  }
  const programsRead: MarkFacts['programs'][number][] = []
  if (attached.size > 0) {
    if (markOffset === undefined) {
      warnings.push({probe: 'bpftool prog dump xlated', kind: 'unsupported', message: `eBPF programs: the kernel's offset of skb->mark is unknown (no BTF), so the mark use of ${attached.size} attached program(s) is not read`})
    } else {
      const raws = await collectBpftoolXlated(
        src,
        [...attached.values()].map((p) => ({id: p.progId, ...(p.progName ? {name: p.progName} : {})})),
      )
      const dumps = parseBpftoolXlatedDumps(raws)
      for (const w of dumps.warnings) warnings.push(w)
      for (const d of dumps.programs) {
        const p = attached.get(d.id)
        if (p) programsRead.push({program: p, access: analyseMarkAccess(d.insns, {markOffset})})
      }
    }
  }
  const facts: MarkFacts = {xt, ...(nftTables ? {nft: nftTables} : {}), ipRules, xfrmStates, xfrmPolicies, tcFilters: hooks.tc.other, sockets, programs: programsRead}
  const ids = new UsageIds()
  const usages: MarkUsage[] = []
  // One loop per source, never push(...xs): a spread passes every element as an argument and overflows the
  // stack past ~120k of them (a large Calico node).
  for (const source of MARK_SOURCES) for (const u of source.usages(facts, ids)) usages.push(u)
  const readable: SourceRead[] = [
    ...xtOuts.outputs.filter((o) => !(o.backend === 'legacy' && o.out.failure === 'missing-binary')).map((o) => sourceRead(o.out.argv.join(' '), o.out)),
    sourceRead('nft -j list chains', nftOut),
    sourceRead('ip -j -4 rule show', rules[0]),
    sourceRead('ip -j -6 rule show', rules[1]),
    sourceRead('ip xfrm state', xs),
    sourceRead('ip xfrm policy', xp),
    sourceRead('ss -e -p', ss),
    hooks.readable.attachmentSources.find((x) => x.probe === TC_PROBE)!,
    // eBPF programs' mark use is read from their code, which only bpftool dumps.
    hooks.readable.programList,
  ]
  return {meta: src.meta, hooks, xt, ...(nftTables ? {nft: nftTables} : {}), ipRules, xfrmStates, xfrmPolicies, sockets, usages, readable, warnings: [...hooks.warnings, ...warnings]}
}
