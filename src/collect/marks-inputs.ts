import {summariseProgram} from '../bpf/interpreter.js'
import {mergeAttachments} from '../analyses/hooks.js'
import {UsageIds, usagesFromBpf, usagesFromIpRules, usagesFromNft, usagesFromSockets, usagesFromTc, usagesFromXfrm, usagesFromXt, type AttachedProgram} from '../analyses/mark-sources.js'
import type {MarkUsage} from '../analyses/mark-usage.js'
import {recogniseAttachment} from '../knowledge/programs.js'
import type {NftTable, XtRuleset} from '../model/netfilter.js'
import {collectBpftoolXlated, parseBpftoolXlatedDumps} from '../probes/bpftool-xlated.js'
import type {IpRule} from '../model/routing.js'
import {collectIpXfrmPolicy, collectIpXfrmState, parseIpXfrmPolicy, parseIpXfrmState} from '../probes/ip-xfrm.js'
import type {XfrmPolicy, XfrmState} from '../model/xfrm.js'
import {parseIptablesSaveForMarks} from '../probes/iptables-save-marks.js'
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
  const dumps = parseXtDumps(xtOuts, warnings, parseIptablesSaveForMarks)
  const xt = dumps.map((d) => d.ruleset)
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
    const hook = `${a.hook.replace('-', ' ')} ${a.devname}`
    const cur = attached.get(a.progId)
    if (cur) cur.hooks.push(hook)
    else {
      const software = recogniseAttachment(a, p)?.software
      attached.set(a.progId, {progId: a.progId, ...(p?.name ? {progName: p.name} : {}), hooks: [hook], ...(software ? {software} : {})})
    }
  }
  const ids = new UsageIds()
  const usages: MarkUsage[] = []
  // One loop per source, never push(...xs): a spread passes every element as an argument and overflows the
  // stack past ~120k of them (a large Calico node).
  const add = (xs: readonly MarkUsage[]) => {
    for (const u of xs) usages.push(u)
  }
  for (const d of dumps) add(usagesFromXt(d.ruleset, ids, d.jumps))
  if (nftTables) add(usagesFromNft(nftTables, ids))
  add(usagesFromIpRules(ipRules, ids))
  add(usagesFromXfrm(xfrmStates, xfrmPolicies, ids))
  add(usagesFromTc(hooks.tc.other, ids))
  add(usagesFromSockets(sockets, ids))
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
        if (!p) continue
        add(usagesFromBpf(p, summariseProgram(d.insns, {markOffset}), ids))
      }
    }
  }
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
