import type {HookAttachment} from '../model/hooks.js'
import type {ProgramSummary} from '../model/program-summary.js'
import type {DatapathFacts, HooksFacts, NodeState, NodeStateNeeds, SourceRead} from '../model/node-state.js'
import type {Warning} from '../model/warning.js'
import {bridgeFdbProbe} from '../probes/bridge-fdb.js'
import {bridgeVlanProbe} from '../probes/bridge-vlan.js'
import {brNetfilterProbe} from '../probes/br-netfilter-sysctl.js'
import {rpFilterProbe} from '../probes/rp-filter.js'
import {ipRulesProbe} from '../probes/ip-rule.js'
import {ipsetSaveProbe} from '../probes/ipset.js'
import {xfrmPolicyProbe, xfrmStateProbe} from '../probes/ip-xfrm.js'
import {probeLabel} from '../probes/descriptor.js'
import {skBuffLayoutProbe} from '../probes/sk-buff-layout.js'
import {ssMarksProbe} from '../probes/ss-marks.js'
import type {Source} from '../source/types.js'
import {mergeAttachments, nodeLabel} from './attachments.js'
import {collectHooksFacts, TC_PROBE} from './hooks.js'
import {collectNativeNftTables} from './native-nft.js'
import type {XtDumps} from './netfilter-dumps.js'
import {collectPeerNetns} from './peer-netns.js'
import {readProgramCode} from './program-code.js'
import {sourceRead} from './readable.js'
import {runProbes} from './run-probes.js'
import {codeWantedForMarks, codeWantedForTrace} from './code-wanted.js'
import {collectDatapathFacts} from './datapath-facts.js'

/**
 * A node read for marks or trace (build.ts loads this only then): hooks, rules, routing, program code and the
 * datapath plugins' maps, in parallel where they do not depend on each other, a constant number of processes
 * whatever the number of devices, rules or programs. The iptables dumps (`xtP`) were started by build.ts.
 */
export async function readNodeInFull(src: Source, needs: NodeStateNeeds, xtP: Promise<XtDumps> | undefined): Promise<NodeState> {
  const rules = needs.marks || needs.trace
  const warnings: Warning[] = []
  // The peer namespaces are known once the links and nsids are: read them while the other probes still run.
  const hooksP = collectHooksFacts(src, {podIps: needs.hooks || needs.trace})
  const peerWarnings: Warning[] = []
  const peersP = needs.trace ? hooksP.then((h) => collectPeerNetns(src, h.devices, h.netnsNames, peerWarnings)) : undefined
  // The probes that depend on no other answer, declared once: each is read when a need asks for it.
  const probeSet = {
    rules4: rules ? ipRulesProbe('ipv4') : undefined,
    rules6: rules ? ipRulesProbe('ipv6') : undefined,
    xfrmStates: needs.marks ? xfrmStateProbe : undefined,
    xfrmPolicies: needs.marks ? xfrmPolicyProbe : undefined,
    sockets: needs.marks ? ssMarksProbe : undefined,
    fdb: needs.trace ? bridgeFdbProbe : undefined,
    bridgeVlans: needs.trace ? bridgeVlanProbe : undefined,
    brNetfilter: needs.trace ? brNetfilterProbe : undefined,
    ipsets: needs.trace ? ipsetSaveProbe : undefined,
    rpFilter: needs.trace ? rpFilterProbe : undefined,
  }
  // Native nft tables are read while the iptables dumps still run (native-nft.ts); their warnings come after the dumps'.
  const nftWarnings: Warning[] = []
  const nftP = rules && xtP ? collectNativeNftTables(src, xtP.then((x) => x.rulesets), nftWarnings) : undefined
  const probesP = runProbes(src, probeSet)
  const attachmentsP = hooksP.then(mergeAttachments)
  // What depends on the hooks alone (the datapath plugins' maps, the programs' code) is read while the iptables dumps
  // still run (~1 s at 110k rules on the nft backend), not after them.
  const datapathsP = needs.trace
    ? Promise.all([hooksP, attachmentsP]).then(([h, a]) => collectDatapathFacts(src, {programs: h.programs, attachedProgIds: [...new Set(a.map((x) => x.progId))]}))
    : Promise.resolve({facts: {}, warnings: []})
  const codeWarnings: Warning[] = []
  const codeP = Promise.all([hooksP, attachmentsP, datapathsP]).then(([h, a, d]) => readCode(src, needs, h, a, d.facts, codeWarnings))
  const [hooks, attachments, peers, xtOuts, probes, nftRead, datapaths, {code, markOffset}] = await Promise.all([hooksP, attachmentsP, peersP, xtP, probesP, nftP, datapathsP, codeP])
  const {facts, outputs} = probes
  if (xtOuts) warnings.push(...xtOuts.warnings)
  const xt = xtOuts?.rulesets ?? []
  warnings.push(...nftWarnings)
  const nft = nftRead?.nft?.tables
  // Not recorded (an older snapshot) FDB, bridge VLANs, br_netfilter or rp_filter sysctls, and ipset missing or not recorded, are not worth a warning: their facts
  // stay unknown (the evaluator says so where a rule matches a set).
  const quiet = (w: Warning) => ([probeLabel(bridgeFdbProbe), probeLabel(bridgeVlanProbe), probeLabel(brNetfilterProbe), probeLabel(rpFilterProbe)].includes(w.probe) && w.kind === 'not-recorded') || (w.probe === probeLabel(ipsetSaveProbe) && outputs.ipsets?.failure !== undefined)
  for (const w of probes.warnings) if (w.probe !== probeLabel(ipsetSaveProbe) && !quiet(w)) warnings.push(w)
  warnings.push(...peerWarnings)
  for (const w of probes.warnings) if (w.probe === probeLabel(ipsetSaveProbe) && !quiet(w)) warnings.push(w)

  // The datapath plugins' maps (Cilium's endpoints, ipcache, tunnels, policy tail calls): only trace reads them.
  for (const w of datapaths.warnings) warnings.push(w)
  for (const w of codeWarnings) warnings.push(w)

  const markSourcesRead: SourceRead[] = needs.marks && xtOuts
    ? [
        ...xtOuts.outputs.filter((o) => !(o.backend === 'legacy' && o.out.failure === 'missing-binary')).map((o) => sourceRead(o.out.argv.join(' '), o.out)),
        // nft: the table list (the helper's, or nft's chain list), or the native tables it named when none could be listed.
        nftRead!.read,
        ...(['rules4', 'rules6', 'xfrmStates', 'xfrmPolicies', 'sockets'] as const).map((k) => sourceRead(probeLabel(probeSet[k]!), outputs[k])),
        hooks.readable.attachmentSources.find((x) => x.probe === TC_PROBE)!,
        // eBPF programs' mark use is read from their code (the helper's prog-dump, or bpftool's), for the programs bpftool lists.
        hooks.readable.programList,
      ]
    : []

  const allWarnings = [...hooks.warnings, ...warnings]
  xtOuts?.late.attach(allWarnings)
  return {
    label: nodeLabel(src.meta),
    meta: src.meta,
    hooks,
    attachments,
    code,
    ...(markOffset !== undefined ? {markOffset} : {}),
    xt,
    ...(nft ? {nft} : {}),
    ...(nftRead?.nft ? {nftTableOrder: nftRead.nft.creationOrder} : {}),
    ipRules: [...(facts.rules4 ?? []), ...(facts.rules6 ?? [])],
    xfrmStates: facts.xfrmStates ?? [],
    xfrmPolicies: facts.xfrmPolicies ?? [],
    sockets: facts.sockets ?? [],
    fdb: facts.fdb ?? [],
    ...(facts.bridgeVlans ? {bridgeVlans: facts.bridgeVlans} : {}),
    ...(facts.brNetfilter ? {brNetfilter: facts.brNetfilter} : {}),
    ...(facts.ipsets ? {ipsets: facts.ipsets} : {}),
    ...(facts.rpFilter && (facts.rpFilter.all !== undefined || Object.keys(facts.rpFilter.devices).length) ? {rpFilter: facts.rpFilter} : {}),
    netnsDevices: peers?.devices ?? new Map(),
    netnsRoutes: peers?.routes ?? new Map(),
    datapaths: datapaths.facts,
    markSourcesRead,
    warnings: allWarnings,
  }
}

/**
 * The programs' code marks and trace read (marks: the attached programs' mark use; trace: what its walk may run),
 * and the kernel's offset of skb->mark their loads and stores are read against. That offset comes from the
 * kernel's BTF (~5 MB parsed in this process, ~15 ms): asked only when there is code to read.
 */
async function readCode(src: Source, needs: NodeStateNeeds, hooks: HooksFacts, attachments: readonly HookAttachment[], datapaths: DatapathFacts, warnings: Warning[]): Promise<{code: Map<number, ProgramSummary>; markOffset: number | undefined}> {
  const code = new Map<number, ProgramSummary>()
  const forMarks = needs.marks ? codeWantedForMarks(hooks, attachments) : []
  const forTrace = needs.trace ? codeWantedForTrace(hooks, attachments, datapaths) : []
  if (forMarks.length === 0 && forTrace.length === 0) return {code, markOffset: undefined}
  const skb = await runProbes(src, {skb: skBuffLayoutProbe})
  warnings.push(...skb.warnings)
  const markOffset = skb.facts.skb.mark
  if (forMarks.length > 0) {
    if (markOffset === undefined) {
      warnings.push({probe: 'bpftool prog dump xlated', kind: 'unsupported', message: `eBPF programs: the kernel's offset of skb->mark is unknown (no BTF), so the mark use of ${forMarks.length} attached program(s) is not read`})
    } else await readProgramCode(src, forMarks, markOffset, code, warnings)
  }
  if (forTrace.length > 0 && markOffset !== undefined) await readProgramCode(src, forTrace, markOffset, code, warnings, {quietNotRecorded: true})
  return {code, markOffset}
}
