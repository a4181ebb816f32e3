/**
 * The lab's netfilter rules, ip rules and routes, as data: what `lab up` writes inside node 1's netns with
 * `iptables-restore --noflush` and `ip -batch`, in the shapes the real software writes them. Pure: plan.ts puts
 * them in the plan up.ts carries out, and verify.ts records what `iptables-save` prints back.
 *
 * Base lab (every `lab up`), node 1, kube-proxy in iptables mode plus the lab's own rules:
 *   nat     KUBE-SERVICES -> KUBE-SVC-<hash> -> KUBE-SEP-<hash> DNAT (the Service default/httpbin:http,
 *           10.96.0.80:80 -> 10.42.0.51:80, one endpoint), KUBE-MARK-MASQ (`--or-mark 0x4000`),
 *           KUBE-POSTROUTING (masquerade what carries 0x4000), and the masquerade of pod traffic leaving by eth1
 *           (`-A POSTROUTING -s 10.42.0.0/16 ! -d 10.42.0.0/16 -o eth1 -j MASQUERADE`);
 *   mangle  traffic to redis 10.42.0.52:6379 jumps to KUBE-MARK-DROP (`--or-mark 0x8000`);
 *   filter  KUBE-FORWARD (kube-proxy's) and KUBE-FIREWALL (kubelet's "dropping marked packets", 1.23 shape),
 *           reached from INPUT, OUTPUT and, in the lab, FORWARD: the marked redis flow is dropped there.
 * Collide variant (`lab up --collide`), node 1, owners whose marks collide:
 *   Cilium  1.12's mangle/filter rules in the 0x0F00 nibble (CILIUM_PRE_mangle, CILIUM_INPUT, CILIUM_OUTPUT),
 *           `ip rule add pref 9 fwmark 0x200/0xf00 lookup 2004` and its local route in table 2004;
 *   Istio   ISTIO_OUTPUT writing the whole mark (`-j MARK --set-mark 0x1337`, the issue's example) and a match
 *           of 0x111/0xfff (Istio ambient's), which uses bit 8 of Cilium's nibble;
 *   eBPF    node 1's from-container (bpf_lxc.o on lxc48c4aa0637ce) built with -DNI_MARK_OR=0x800 (see plan.ts).
 */
import {CLUSTER_CIDR, KUBE_DROP_MARK, KUBE_MASQ_MARK, MARK_DROP_TARGET, type LabTopology, type NodeName} from './topology.js'

export type LabVariant = 'base' | 'collide'
export type LabRuleOwner = 'kubernetes' | 'cilium' | 'istio' | 'lab'
type XtTable = 'raw' | 'mangle' | 'nat' | 'filter'
/** What iptables-restore needs of a rule (the base lab's and the CNI variants' rules alike). */
type RestorableRule = Pick<LabXtRule, 'node' | 'table' | 'chain' | 'rule'>
/** Targets (not chains) the lab's rules jump to: iptables-restore must not declare them as chains. */
const TARGETS = ['ACCEPT', 'DROP', 'RETURN', 'MARK', 'CONNMARK', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'TPROXY', 'LOG', 'REJECT', 'NOTRACK', 'CT']

/** One iptables rule `lab up` writes. */
export interface LabXtRule {
  node: NodeName
  variant: LabVariant
  /** Whose rule it stands for (the software that writes this shape). */
  owner: LabRuleOwner
  table: XtTable
  chain: string
  /** 1-based position in its chain after `lab up` (rules are appended in list order). */
  position: number
  /** The `-A` line as written to iptables-restore. */
  rule: string
  purpose: string
}

/** `ip rule add …` / `ip route add …` arguments (one `ip -batch` line each, inside the node netns). */
export interface LabIpCommand {
  node: NodeName
  variant: LabVariant
  owner: LabRuleOwner
  /** e.g. `rule add pref 9 fwmark 0x200/0xf00 lookup 2004`. */
  command: string
  purpose: string
}

export interface LabNetfilterPlan {
  rules: LabXtRule[]
  ip: LabIpCommand[]
}

/** The mark the collide variant's eBPF program ORs in: bit 11, inside Cilium's 0x0F00 "magic" nibble. */
export const COLLIDE_MARK_OR = 0x800
/** The program that ORs it: node 1's from-container on curl's lxc (tc clsact ingress). */
export const COLLIDE_MARK_OR_OBJECT = {node: 'node1' as NodeName, object: 'bpf_lxc.o'}

const BUILTIN: Record<XtTable, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
}
const TABLE_ORDER: XtTable[] = ['raw', 'mangle', 'nat', 'filter']

const hex = (n: number) => `0x${n.toString(16)}`

/** Every rule and ip command of a lab variant (the collide variant is the base plus its own, appended). */
export function labNetfilterPlan(topo: LabTopology, variant: LabVariant = 'base'): LabNetfilterPlan {
  const rules: LabXtRule[] = []
  const ip: LabIpCommand[] = []
  const node: NodeName = 'node1'
  const add = (v: LabVariant, owner: LabRuleOwner, table: XtTable, rule: string, purpose: string) => {
    const chain = /^-A (\S+) /.exec(rule)![1]!
    const position = rules.filter((r) => r.node === node && r.table === table && r.chain === chain).length + 1
    rules.push({node, variant: v, owner, table, chain, position, rule, purpose})
  }
  const k = (table: XtTable, rule: string, purpose: string) => add('base', 'kubernetes', table, rule, purpose)

  // base: kube-proxy (iptables mode, v1.28 shapes), kubelet's KUBE-FIREWALL (1.23 shape), the lab's own.
  const masq = hex(KUBE_MASQ_MARK)
  const drop = hex(KUBE_DROP_MARK)
  const redis = topo.pods.find((p) => p.name === MARK_DROP_TARGET.pod)!
  k('nat', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'Service portals for forwarded traffic')
  k('nat', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'Service portals for the node itself')
  k('nat', '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING', 'masquerade what kube-proxy marked')
  add('base', 'lab', 'nat', `-A POSTROUTING -s ${CLUSTER_CIDR} ! -d ${CLUSTER_CIDR} -o ${topo.ext.nodeDev.name} -j MASQUERADE`, `pod traffic leaving the cluster by ${topo.ext.nodeDev.name} is masqueraded behind ${topo.ext.nodeDev.ip}`)
  k('nat', `-A KUBE-MARK-MASQ -j MARK --or-mark ${masq}`, 'kube-proxy masquerade bit (--masquerade-bit 14)')
  k('nat', `-A KUBE-POSTROUTING -m mark ! --mark ${masq}/${masq} -j RETURN`, 'not marked: no masquerade')
  k('nat', `-A KUBE-POSTROUTING -j MARK --xor-mark ${masq}`, 'clear the masquerade bit before it leaves')
  k('nat', '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully', 'masquerade')
  for (const svc of topo.services) {
    const cmt = `${svc.name} cluster IP`
    k('nat', `-A KUBE-SERVICES -d ${svc.clusterIp}/32 -p ${svc.protocol} -m comment --comment "${cmt}" -m ${svc.protocol} --dport ${svc.port} -j ${svc.svcChain}`, `Service ${svc.name} ${svc.clusterIp}:${svc.port}`)
  }
  k('nat', '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS', 'NodePorts (none in the lab)')
  for (const svc of topo.services) {
    k('nat', `-A ${svc.svcChain} ! -s ${CLUSTER_CIDR} -d ${svc.clusterIp}/32 -p ${svc.protocol} -m comment --comment "${svc.name} cluster IP" -m ${svc.protocol} --dport ${svc.port} -j KUBE-MARK-MASQ`, 'traffic from outside the cluster CIDR is masqueraded')
    for (const ep of svc.endpoints) k('nat', `-A ${svc.svcChain} -m comment --comment "${svc.name} -> ${ep.ip}:${ep.port}" -j ${ep.sepChain}`, `the one endpoint: ${ep.pod}`)
    for (const ep of svc.endpoints) {
      k('nat', `-A ${ep.sepChain} -s ${ep.ip}/32 -m comment --comment "${svc.name}" -j KUBE-MARK-MASQ`, 'hairpin: the endpoint calling its own Service')
      k('nat', `-A ${ep.sepChain} -p ${svc.protocol} -m comment --comment "${svc.name}" -m ${svc.protocol} -j DNAT --to-destination ${ep.ip}:${ep.port}`, `DNAT to ${ep.pod}`)
    }
  }
  add('base', 'lab', 'mangle', `-A PREROUTING -d ${redis.ip}/32 -p tcp -m tcp --dport ${MARK_DROP_TARGET.port} -m comment --comment "lab: deny ${redis.name}:${MARK_DROP_TARGET.port}" -j KUBE-MARK-DROP`, `mark traffic to ${redis.name} ${redis.ip}:${MARK_DROP_TARGET.port} for drop`)
  k('mangle', `-A KUBE-MARK-DROP -j MARK --or-mark ${drop}`, 'kubelet drop bit (bit 15)')
  k('filter', '-A INPUT -j KUBE-FIREWALL', 'kubelet firewall')
  k('filter', '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD', 'kube-proxy forwarding rules')
  add('base', 'lab', 'filter', '-A FORWARD -j KUBE-FIREWALL', 'the lab also drops marked forwarded packets')
  k('filter', '-A OUTPUT -j KUBE-FIREWALL', 'kubelet firewall')
  k('filter', `-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark ${drop}/${drop} -j DROP`, 'drop what carries 0x8000')
  k('filter', '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP', 'kube-proxy: invalid')
  k('filter', `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${masq}/${masq} -j ACCEPT`, 'kube-proxy: accept what it marked')
  k('filter', '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', 'kube-proxy: established')

  if (variant === 'collide') {
    // Cilium 1.12 (pkg/datapath/iptables/iptables.go): its chains, feeder rules and the 0x0F00 nibble.
    const c = (table: XtTable, rule: string, purpose: string) => add('collide', 'cilium', table, rule, purpose)
    c('mangle', '-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_mangle" -j CILIUM_PRE_mangle', 'feeder')
    c('mangle', '-A CILIUM_PRE_mangle -m socket --transparent -m comment --comment "cilium: any->pod redirect proxied traffic to host proxy" -j MARK --set-xmark 0x200/0xffffffff', 'to-proxy mark (MARK_MAGIC_TO_PROXY, whole mark)')
    c('filter', '-A INPUT -m comment --comment "cilium-feeder: CILIUM_INPUT" -j CILIUM_INPUT', 'feeder')
    c('filter', '-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT" -j CILIUM_OUTPUT', 'feeder')
    c('filter', '-A CILIUM_INPUT -m mark --mark 0x200/0xf00 -m comment --comment "cilium: ACCEPT for proxy traffic" -j ACCEPT', 'proxy traffic (0x200/0xf00)')
    c('filter', '-A CILIUM_OUTPUT -m mark --mark 0xa00/0xfffffeff -m comment --comment "cilium: ACCEPT for proxy return traffic" -j ACCEPT', 'proxy return traffic')
    c('filter', '-A CILIUM_OUTPUT -m mark ! --mark 0xe00/0xf00 -m mark ! --mark 0xd00/0xf00 -m mark ! --mark 0xa00/0xe00 -m comment --comment "cilium: host->any mark as from host" -j MARK --set-xmark 0xc00/0xf00', 'host traffic marked MARK_MAGIC_HOST (0xc00/0xf00)')
    ip.push({node, variant: 'collide', owner: 'cilium', command: 'rule add pref 9 fwmark 0x200/0xf00 lookup 2004', purpose: "Cilium's to-proxy policy routing"})
    ip.push({node, variant: 'collide', owner: 'cilium', command: 'route add local 0.0.0.0/0 dev lo table 2004', purpose: "Cilium's proxy table: deliver locally"})
    // Istio (sidecar and ambient shapes): a whole-mark writer and a match inside Cilium's nibble.
    const i = (table: XtTable, rule: string, purpose: string) => add('collide', 'istio', table, rule, purpose)
    i('mangle', '-A OUTPUT -j ISTIO_OUTPUT', 'Istio output chain')
    i('mangle', '-A ISTIO_OUTPUT -p tcp -m owner --uid-owner 1337 -j MARK --set-mark 0x1337', 'the whole mark 0x1337 on the proxy\'s own traffic (clobbers every other owner\'s bits)')
    i('nat', '-A OUTPUT -p tcp -j ISTIO_OUTPUT', 'Istio output chain')
    i('nat', '-A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT', "Istio ambient's 0x111/0xfff: bit 8 is inside Cilium's 0x0F00 nibble")
  }
  return {rules, ip}
}

/** User-defined chains of a table, in order of first appearance (as jump target or as the chain of a rule). */
function userChains(rules: readonly RestorableRule[], table: XtTable): string[] {
  const out: string[] = []
  const note = (c: string) => {
    if (!BUILTIN[table].includes(c) && !out.includes(c)) out.push(c)
  }
  for (const r of rules.filter((x) => x.table === table)) {
    note(r.chain)
    // -j jumps, -g goes to (Calico's dispatch chains); chain names may be lowercase (cali-FORWARD).
    const j = / -[jg] (\S+)/.exec(r.rule)
    if (j && /^[A-Za-z][A-Za-z0-9_.-]*$/.test(j[1]!) && !TARGETS.includes(j[1]!)) note(j[1]!)
  }
  return out
}

/** The iptables-restore input (use with --noflush) for one node: each table with its chains and rules, committed. */
export function iptablesRestoreInput(rules: readonly RestorableRule[], node: NodeName): string {
  const mine = rules.filter((r) => r.node === node)
  const lines: string[] = []
  for (const table of TABLE_ORDER) {
    const rs = mine.filter((r) => r.table === table)
    if (rs.length === 0) continue
    lines.push(`*${table}`)
    for (const c of BUILTIN[table]) lines.push(`:${c} ACCEPT [0:0]`)
    for (const c of userChains(mine, table)) lines.push(`:${c} - [0:0]`)
    for (const r of rs) lines.push(r.rule)
    lines.push('COMMIT')
  }
  return lines.length ? `${lines.join('\n')}\n` : ''
}

/**
 * `-A` lines of an iptables-save dump, by table then chain, in order.
 */
export function saveRulesByChain(save: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  let table = ''
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim()
    else if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1]!
      const key = `${table}/${chain}`
      ;(out.get(key) ?? out.set(key, []).get(key)!).push(line.trimEnd())
    }
  }
  return out
}

/**
 * Pair each written rule with the line iptables-save printed for it (same table, chain and position: the
 * namespaces start empty and `--noflush` only appends). Returns the problems instead of throwing: a missing
 * line, or a chain holding more rules than the lab wrote.
 */
export function pairSavedRules(rules: readonly LabXtRule[], save: string, node: NodeName): {saved: Map<LabXtRule, string>; problems: string[]} {
  const by = saveRulesByChain(save)
  const saved = new Map<LabXtRule, string>()
  const problems: string[] = []
  const mine = rules.filter((r) => r.node === node)
  for (const r of mine) {
    const line = by.get(`${r.table}/${r.chain}`)?.[r.position - 1]
    if (line === undefined) problems.push(`${r.table} ${r.chain} has no rule ${r.position} (${r.rule})`)
    else saved.set(r, line)
  }
  for (const [key, lines] of by) {
    const [table, chain] = key.split('/') as [string, string]
    const want = mine.filter((r) => r.table === table && r.chain === chain).length
    if (lines.length > want) problems.push(`${table} ${chain} holds ${lines.length} rules, the lab wrote ${want}`)
  }
  return {saved, problems}
}
