import facts from './marks-facts.json' with {type: 'json'}

/**
 * Who uses which mark bits: the verified facts of marks-facts.json (97 entries, each with its source) grouped into
 * owners, plus the signals that attribute a rule to an owner (chain names, comments, nft tables, ip rule tables,
 * eBPF programs). Attribution is by these signals or by a value/mask that only one owner uses; anything else is
 * "unattributed", never guessed.
 */
export interface MarkFact {
  software: string
  version: string
  kind: 'packet' | 'ct' | 'both'
  /** As the source states it: a hex value, alternatives ("0x400 / 0x4d3") or a formula ("nodeID << 16"). */
  valueText: string
  maskText: string
  /** Numeric values where the text is only hex literals; absent for formulas. */
  values?: number[]
  mask?: number
  style: 'whole' | 'bitwise'
  meaning: string
  setBy: string
  matchedBy: string
  source: {repo: string; path: string; lines?: string}
  verified: boolean
}

export interface MarkOwner {
  id: string
  name: string
  /** One letter for the 32-cell bit map. */
  letter: string
  /** `software` names in marks-facts.json that belong to this owner. */
  softwarePrefixes: string[]
  chainPatterns: RegExp[]
  commentPatterns: RegExp[]
  nftTablePatterns: RegExp[]
  /** Policy-routing tables the owner installs rules for. */
  ipRuleTables: string[]
  /** Software names of recognised eBPF programs (knowledge/programs.ts). */
  programSoftware: string[]
  /** Process names (as ss -p prints them) of sockets that carry the owner's SO_MARK. */
  processPatterns?: RegExp[]
}

/** Checked in this order: more specific chain prefixes (KUBE-ROUTER-, KUBE-NWPLCY-) before broader ones (KUBE-). */
export const MARK_OWNERS: MarkOwner[] = [
  {id: 'cilium', name: 'Cilium', letter: 'C', softwarePrefixes: ['Cilium'], chainPatterns: [/^CILIUM_/, /^OLD_CILIUM_/], commentPatterns: [/cilium/i], nftTablePatterns: [/^cilium/], ipRuleTables: ['2004', '2005', '200', '201', '202'], programSoftware: ['Cilium'], processPatterns: [/^cilium-(agent|envoy)$/]},
  {id: 'kube-router', name: 'kube-router', letter: 'R', softwarePrefixes: ['kube-router'], chainPatterns: [/^KUBE-ROUTER-/, /^KUBE-NWPLCY-/, /^KUBE-POD-FW-/, /^KUBE-SRC-/, /^KUBE-DST-/], commentPatterns: [/kube-router/i, /rule to /], nftTablePatterns: [], ipRuleTables: [], programSoftware: []},
  {id: 'kubernetes', name: 'Kubernetes (kube-proxy/kubelet)', letter: 'K', softwarePrefixes: ['kube-proxy', 'kubelet'], chainPatterns: [/^KUBE-(?!ROUTER|OVN|SERVICES-IPVS)/], commentPatterns: [/^kubernetes /, /kube-proxy/], nftTablePatterns: [/^kube-proxy$/], ipRuleTables: [], programSoftware: []},
  {id: 'calico', name: 'Calico', letter: 'L', softwarePrefixes: ['Calico'], chainPatterns: [/^cali-/, /^cali[a-z]/], commentPatterns: [/^cali:/], nftTablePatterns: [/^calico/], ipRuleTables: [], programSoftware: ['Calico (eBPF dataplane)']},
  {id: 'flannel', name: 'flannel', letter: 'F', softwarePrefixes: ['flannel'], chainPatterns: [/^FLANNEL-/], commentPatterns: [/flanneld/], nftTablePatterns: [/^flannel/], ipRuleTables: [], programSoftware: []},
  {id: 'weave', name: 'Weave Net', letter: 'W', softwarePrefixes: ['Weave'], chainPatterns: [/^WEAVE/], commentPatterns: [/weave/i], nftTablePatterns: [], ipRuleTables: [], programSoftware: []},
  {id: 'istio', name: 'Istio', letter: 'I', softwarePrefixes: ['Istio'], chainPatterns: [/^ISTIO_/, /^ztunnel-/], commentPatterns: [/istio/i, /ztunnel/i], nftTablePatterns: [/^istio/], ipRuleTables: ['133', '100'], programSoftware: [], processPatterns: [/^(envoy|pilot-agent|ztunnel)$/]},
  {id: 'aws-vpc-cni', name: 'AWS VPC CNI', letter: 'V', softwarePrefixes: ['AWS VPC CNI'], chainPatterns: [/^AWS-/], commentPatterns: [/^AWS/, /aws/i], nftTablePatterns: [/^aws/], ipRuleTables: [], programSoftware: []},
  {id: 'portmap', name: 'CNI portmap', letter: 'P', softwarePrefixes: ['CNI portmap'], chainPatterns: [/^CNI-HOSTPORT-/, /^CNI-DN-/], commentPatterns: [/dnat name/, /CNI portfwd/], nftTablePatterns: [/^cni_hostport/], ipRuleTables: [], programSoftware: []},
  {id: 'tailscale', name: 'Tailscale', letter: 'T', softwarePrefixes: ['Tailscale'], chainPatterns: [/^ts-/], commentPatterns: [/tailscale/i], nftTablePatterns: [/^ts-/], ipRuleTables: ['52'], programSoftware: [], processPatterns: [/^tailscaled$/]},
  {id: 'wg-quick', name: 'wg-quick', letter: 'G', softwarePrefixes: ['wg-quick'], chainPatterns: [], commentPatterns: [/wg-quick/], nftTablePatterns: [/^wg-quick-/], ipRuleTables: ['51820'], programSoftware: []},
  {id: 'antrea', name: 'Antrea', letter: 'A', softwarePrefixes: ['Antrea'], chainPatterns: [/^ANTREA-/], commentPatterns: [/^Antrea:/i], nftTablePatterns: [/^antrea/], ipRuleTables: ['141'], programSoftware: []},
  {id: 'ovn-kubernetes', name: 'OVN-Kubernetes', letter: 'O', softwarePrefixes: ['OVN-Kubernetes'], chainPatterns: [/^OVN-KUBE-/], commentPatterns: [], nftTablePatterns: [/^ovn-kubernetes/], ipRuleTables: ['7'], programSoftware: []},
  {id: 'kube-ovn', name: 'Kube-OVN', letter: 'B', softwarePrefixes: ['Kube-OVN'], chainPatterns: [/^OVN-(?!KUBE-)/], commentPatterns: [/kube-ovn/i], nftTablePatterns: [], ipRuleTables: [], programSoftware: []},
  {id: 'docker', name: 'Docker', letter: 'D', softwarePrefixes: ['Docker'], chainPatterns: [/^DOCKER/], commentPatterns: [], nftTablePatterns: [], ipRuleTables: [], programSoftware: []},
  {id: 'talos', name: 'Talos KubeSpan', letter: 'S', softwarePrefixes: ['Talos'], chainPatterns: [], commentPatterns: [/kubespan/i], nftTablePatterns: [/^talos_kubespan/], ipRuleTables: [], programSoftware: []},
  {id: 'aws-app-mesh', name: 'AWS App Mesh', letter: 'M', softwarePrefixes: ['AWS App Mesh'], chainPatterns: [/^APPMESH_/], commentPatterns: [], nftTablePatterns: [], ipRuleTables: [], programSoftware: []},
]

const HEX_ONLY = /^\s*0x[0-9a-f]+(\s*[/|]\s*0x[0-9a-f]+)*\s*$/i

function numbers(text: string): number[] | undefined {
  const t = text.replace(/\(full mark\)/, '').trim()
  if (!HEX_ONLY.test(t)) return undefined
  return t.split(/[/|]/).map((x) => Number.parseInt(x.trim(), 16) >>> 0)
}

const MARK_FACTS: MarkFact[] = (facts as Array<Record<string, unknown>>).map((f) => {
  const valueText = String(f.value)
  const maskText = String(f.mask)
  const fact: MarkFact = {
    software: String(f.software),
    version: String(f.version),
    kind: f.kind as MarkFact['kind'],
    valueText,
    maskText,
    style: f.style === 'bitwise' ? 'bitwise' : 'whole',
    meaning: String(f.meaning),
    setBy: String(f.setBy),
    matchedBy: String(f.matchedBy),
    source: f.source as MarkFact['source'],
    verified: f.verified === true,
  }
  const values = numbers(valueText)
  const masks = numbers(maskText)
  if (values) fact.values = values
  if (masks?.length === 1) fact.mask = masks[0]
  else if (masks && values && masks.length === values.length) fact.mask = masks.reduce((a, b) => (a | b) >>> 0, 0)
  return fact
})

function ownerOfSoftware(software: string): MarkOwner | undefined {
  return MARK_OWNERS.find((o) => o.softwarePrefixes.some((p) => software.startsWith(p)))
}

/** @internal tested directly (a test seam) */
export function factsOf(owner: MarkOwner): MarkFact[] {
  return MARK_FACTS.filter((f) => owner.softwarePrefixes.some((p) => f.software.startsWith(p)))
}

/** How an owner was decided, weakest last. */
type AttributionBasis = 'chain' | 'comment' | 'nft-table' | 'ip-rule-table' | 'program' | 'process' | 'value'

export interface Attribution {
  owner: string
  ownerName: string
  basis: AttributionBasis
  /** The name, comment or table that matched. */
  matched: string
}

export interface AttributionSignals {
  chain?: string
  /** Chains that jump to this one, nearest first: a rule in a generic chain reached only from CILIUM_* is Cilium's. */
  reachedFrom?: string[]
  comments?: string[]
  nftTable?: string
  ipRuleTable?: string
  programSoftware?: string
  /** Processes holding a marked socket. */
  processes?: string[]
}

export function attribute(s: AttributionSignals): Attribution | undefined {
  const hit = (o: MarkOwner, basis: AttributionBasis, matched: string): Attribution => ({owner: o.id, ownerName: o.name, basis, matched})
  if (s.programSoftware) for (const o of MARK_OWNERS) if (o.programSoftware.includes(s.programSoftware)) return hit(o, 'program', s.programSoftware)
  for (const p of s.processes ?? []) for (const o of MARK_OWNERS) if (o.processPatterns?.some((re) => re.test(p))) return hit(o, 'process', p)
  if (s.chain) for (const o of MARK_OWNERS) if (o.chainPatterns.some((re) => re.test(s.chain!))) return hit(o, 'chain', s.chain)
  for (const c of s.comments ?? []) for (const o of MARK_OWNERS) if (o.commentPatterns.some((re) => re.test(c))) return hit(o, 'comment', c)
  if (s.nftTable) for (const o of MARK_OWNERS) if (o.nftTablePatterns.some((re) => re.test(s.nftTable!))) return hit(o, 'nft-table', s.nftTable)
  if (s.ipRuleTable) for (const o of MARK_OWNERS) if (o.ipRuleTables.includes(s.ipRuleTable)) return hit(o, 'ip-rule-table', s.ipRuleTable)
  for (const c of s.reachedFrom ?? []) for (const o of MARK_OWNERS) if (o.chainPatterns.some((re) => re.test(c))) return hit(o, 'chain', `${c} (jumps here)`)
  return undefined
}

/** Owners whose documented marks include exactly this value under this mask (or whose documented mask covers it). */
export function ownersByValue(value: number, mask: number): Array<{owner: MarkOwner; fact: MarkFact}> {
  const out: Array<{owner: MarkOwner; fact: MarkFact}> = []
  for (const f of MARK_FACTS) {
    if (!f.values || f.mask === undefined) continue
    const m = mask >>> 0
    if (f.values.some((v) => ((v & m) >>> 0) === ((value & m) >>> 0) && (f.mask! & m) >>> 0 === m && (value & m) !== 0)) {
      const owner = ownerOfSoftware(f.software)
      if (owner && !out.some((x) => x.owner.id === owner.id)) out.push({owner, fact: f})
    }
  }
  return out
}

/**
 * The documented meaning of value/mask for an owner, e.g. Cilium 0x200/0xf00 → MARK_MAGIC_TO_PROXY. With `partial`,
 * a use that covers only part of a documented field (an OR of 0x800 into Cilium's 0x0f00 nibble) also gets the
 * meaning its bits would have if the rest of the field were clear.
 */
export function meaningOf(owner: MarkOwner, value: number, mask: number, partial = false): MarkFact | undefined {
  const m = mask >>> 0
  const fits = (f: MarkFact, whole: boolean) =>
    f.values !== undefined && f.mask !== undefined && (f.mask & m) >>> 0 !== 0 && f.values.some((v) => ((v & f.mask!) >>> 0) === ((value & f.mask!) >>> 0)) && (!whole || ((m & f.mask) >>> 0) === f.mask)
  return factsOf(owner).find((f) => fits(f, true)) ?? (partial ? factsOf(owner).find((f) => fits(f, false) && (value & f.mask!) !== 0) : undefined)
}
