/** Human text for a CNI variant lab (`lab up --variant`, `lab status`); --json prints the state itself. */
import type {LabVariantState} from './state.js'

export function formatVariantState(s: LabVariantState): string[] {
  const lines: string[] = []
  const listeners = s.processes.map((p) => `${p.pod} listening on ${p.listen} (pid ${p.pid})`).join(', ')
  lines.push(`lab ${s.prefix} (variant ${s.variant}): ${s.summary}`)
  lines.push(`${s.namespaces.length} namespaces${listeners ? `; ${listeners}` : ''}`)
  for (const n of s.nodes) {
    const devs = s.devices.filter((d) => d.netns === n.netns).map((d) => `${d.name}(${d.ifindex}, ${d.kind}${d.master ? ` on ${d.master}` : ''}${d.vxlan ? ` vni ${d.vxlan.id} udp ${d.vxlan.port}` : ''}${d.addresses.length ? ` ${d.addresses.join(' ')}` : ''})`)
    lines.push(`${n.netns}: underlay ${n.underlayIp}, pods ${n.podCidr}, overlay ${n.overlay.dev} ${n.overlay.address}; ${devs.join(', ')}`)
    const rules = s.netfilter.rules.filter((r) => r.node === n.name)
    const owners = [...new Set(rules.map((r) => r.owner))].map((o) => `${o} ${rules.filter((r) => r.owner === o).length}`).join(', ')
    if (rules.length) lines.push(`  iptables: ${rules.length} rules (${owners})`)
    for (const t of s.netfilter.nft.filter((x) => x.node === n.name)) lines.push(`  nft: table ${t.family} ${t.name}`)
    for (const c of s.netfilter.ip.filter((x) => x.node === n.name)) lines.push(`  ip ${c.command} (${c.owner})`)
  }
  for (const p of s.pods) lines.push(`${p.netns}: ${p.ip} via ${p.gateway}, host end ${p.hostDev} on ${p.node}`)
  if (s.outside) lines.push(`${s.outside.netns}: ${s.outside.ip}/24 <-> ${s.outside.nodeDev.name} ${s.outside.nodeDev.ip} on ${s.outside.node}; listener ${s.outside.listenIp}:${s.outside.listener.port} (outside the cluster)`)
  for (const svc of s.services) lines.push(`service ${svc.name} ${svc.clusterIp}:${svc.port}/${svc.protocol} -> ${svc.endpoints.map((e) => `${e.ip}:${e.port} (${e.pod})`).join(', ')}`)
  for (const f of s.flows) lines.push(`flow ${f.kind}: ${f.fromPod} -> ${f.dst}:${f.dport}/${f.proto} (${f.expect.connected ? 'connects' : 'dropped'}): ${f.description}`)
  return lines
}
