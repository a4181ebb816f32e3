/**
 * Checks a CNI variant lab that `lab up --variant` just built against its plan, by reading it back from the kernel:
 * every device (kind, bridge port, addresses, VXLAN id and port, MAC where the plan fixes it), the routes (main
 * and policy tables), the sysctls, the ip rules, every iptables rule at its position (iptables-save) and every
 * native nft table with its chains. Throws a LabError (step 'read back') at the first thing that differs.
 */
import {deviceBasics, type IpDeviceJson} from '../device-read-back.js'
import {LabError, labRun, parseLabJson} from '../exec.js'
import {saveRulesByChain} from '../netfilter.js'
import type {LabVariantState, VariantDeviceState} from './state.js'
import type {LabVariantPlan} from './variant-plan.js'

/** The parts of the state file that come from reading the lab back. */
export type VariantReadBack = Pick<LabVariantState, 'devices' | 'routes' | 'sysctls' | 'netfilter'>

interface IpAddrJson extends IpDeviceJson {
  master?: string
  linkinfo?: {info_kind?: string; info_data?: {id?: number; port?: number}}
}
interface IpRouteJson {
  dst: string
  dev?: string
  table?: string
}

const fail = (what: string): never => {
  throw new LabError('read back', `read back: ${what}`)
}

export async function verifyVariantLab(plan: LabVariantPlan): Promise<VariantReadBack> {
  const nodeNs = plan.nodes.map((n) => n.netns)
  const [devices, routes, sysctls, netfilter] = await Promise.all([readDevices(plan), readRoutes(plan, nodeNs), readSysctls(plan), readNetfilter(plan)])
  return {devices, routes, sysctls, netfilter}
}

async function readDevices(plan: LabVariantPlan): Promise<VariantDeviceState[]> {
  const out: VariantDeviceState[] = []
  await Promise.all(
    plan.namespaces.map(async (ns) => {
      const r = await labRun(`read back links (${ns})`, ['ip', '-n', ns, '-j', '-d', 'addr', 'show'])
      for (const l of parseLabJson<IpAddrJson[]>('read back', r.stdout)) {
        if (l.ifname === 'lo') continue
        const d: VariantDeviceState = deviceBasics(ns, l)
        if (l.master) d.master = l.master
        if (d.kind === 'vxlan') d.vxlan = {id: l.linkinfo?.info_data?.id ?? -1, port: l.linkinfo?.info_data?.port ?? -1}
        out.push(d)
      }
    }),
  )
  for (const w of plan.expect.devices) {
    const d = out.find((x) => x.netns === w.netns && x.name === w.name)
    const have = d ? `${d.kind} master ${d.master ?? '-'} ${d.addresses.join(',')}${d.vxlan ? ` vxlan ${d.vxlan.id}:${d.vxlan.port}` : ''}` : 'missing'
    const want = `${w.kind} master ${w.master ?? '-'} ${w.addresses.join(',')}${w.vxlan ? ` vxlan ${w.vxlan.id}:${w.vxlan.port}` : ''}`
    if (have !== want || (w.mac !== undefined && d?.mac !== w.mac)) fail(`${w.netns} ${w.name} is ${have}${d ? ` ${d.mac}` : ''}, expected ${want}${w.mac ? ` ${w.mac}` : ''}`)
  }
  return out.sort((a, b) => a.netns.localeCompare(b.netns) || a.ifindex - b.ifindex)
}

async function readRoutes(plan: LabVariantPlan, nodeNs: string[]): Promise<LabVariantPlan['expect']['routes']> {
  const tables = new Map<string, IpRouteJson[]>()
  await Promise.all(
    nodeNs.map(async (ns) => {
      const r = await labRun(`read back routes (${ns})`, ['ip', '-n', ns, '-j', 'route', 'show', 'table', 'all'])
      tables.set(ns, parseLabJson<IpRouteJson[]>('read back', r.stdout))
    }),
  )
  for (const w of plan.expect.routes) {
    const table = w.table === undefined ? undefined : String(w.table)
    // ip -j prints no "table" for main; a /32 route's dst has no prefix length.
    const found = (tables.get(w.netns) ?? []).some((r) => (r.dst === w.dst || r.dst === w.dst.replace(/\/32$/, '')) && r.dev === w.dev && r.table === table)
    if (!found) fail(`${w.netns} has no route ${w.dst} dev ${w.dev}${table ? ` table ${table}` : ''}`)
  }
  return plan.expect.routes
}

async function readSysctls(plan: LabVariantPlan): Promise<LabVariantState['sysctls']> {
  const out: LabVariantState['sysctls'] = []
  const byNs = new Map<string, string[]>()
  for (const s of plan.expect.sysctls) byNs.set(s.netns, [...(byNs.get(s.netns) ?? []), s.key])
  await Promise.all(
    [...byNs].map(async ([ns, keys]) => {
      // -e: a key the kernel lacks is left out instead of failing the read.
      const r = await labRun(`read back sysctls (${ns})`, ['sysctl', '-e', ...keys], {netns: ns})
      const values = new Map(r.stdout.split('\n').map((l) => /^(\S+) = (.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[1]!, m[2]!]))
      for (const key of keys) {
        const value = values.get(key)
        out.push(value === undefined ? {netns: ns, key} : {netns: ns, key, value})
      }
    }),
  )
  for (const w of plan.expect.sysctls) {
    const v = out.find((x) => x.netns === w.netns && x.key === w.key)?.value
    if (v === undefined ? !w.absentOk : v !== w.value) fail(`${w.netns} ${w.key} is ${v ?? 'absent'}, expected ${w.value}`)
  }
  return out
}

async function readNetfilter(plan: LabVariantPlan): Promise<LabVariantState['netfilter']> {
  const rules: LabVariantState['netfilter']['rules'] = []
  const nft: LabVariantState['netfilter']['nft'] = []
  await Promise.all(
    plan.nodes.map(async (node) => {
      const mine = plan.iptables.filter((r) => r.node === node.name)
      const save = await labRun(`read back iptables (${node.name})`, ['iptables-save'], {netns: node.netns})
      const by = saveRulesByChain(save.stdout)
      // The namespaces start empty and --noflush only appends: each chain holds exactly the lab's rules, in order.
      const seen = new Map<string, number>()
      for (const r of mine) {
        const key = `${r.table}/${r.chain}`
        const i = seen.get(key) ?? 0
        seen.set(key, i + 1)
        const saved = by.get(key)?.[i]
        if (saved === undefined) fail(`${node.name} iptables ${r.table} ${r.chain} has no rule ${i + 1} (${r.rule})`)
        rules.push({...r, saved: saved!})
      }
      for (const [key, lines] of by) if (lines.length !== (seen.get(key) ?? 0)) fail(`${node.name} iptables ${key} holds ${lines.length} rules, the lab wrote ${seen.get(key) ?? 0}`)
      for (const t of plan.nft.filter((x) => x.node === node.name)) {
        const r = await labRun(`read back nft (${node.name})`, ['nft', 'list', 'table', t.family, t.name], {netns: node.netns})
        const missing = t.chains.filter((c) => !r.stdout.includes(`chain ${c} {`))
        if (missing.length) fail(`${node.name} nft table ${t.family} ${t.name} has no chain ${missing.join(', ')}`)
        nft.push({node: node.name, family: t.family, name: t.name, listing: r.stdout})
      }
      const prefs = plan.ip.filter((c) => c.node === node.name && c.pref !== undefined).map((c) => c.pref!)
      if (prefs.length) {
        const ipr = parseLabJson<Array<{priority: number}>>('read back', (await labRun(`read back ip rules (${node.name})`, ['ip', '-n', node.netns, '-j', 'rule', 'show'])).stdout)
        const missing = prefs.filter((p) => !ipr.some((x) => x.priority === p))
        if (missing.length) fail(`${node.name} has no ip rule with pref ${missing.join(', ')}`)
      }
    }),
  )
  // In plan order, whatever order the nodes answered in.
  rules.sort((a, b) => plan.iptables.findIndex((r) => r.rule === a.rule && r.node === a.node) - plan.iptables.findIndex((r) => r.rule === b.rule && r.node === b.node))
  return {rules, nft, ip: plan.ip}
}
