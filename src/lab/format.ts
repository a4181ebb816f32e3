/** Human text for the lab commands (the --json output is the data itself). */
import {isVariantState, type LabState} from './state.js'
import type {LabStatus} from './status.js'
import type {LabDownReport} from './teardown.js'
import {formatVariantState} from './variants/format.js'

export function formatLabState(s: LabState): string[] {
  const lines: string[] = []
  const listeners = s.processes.map((p) => `${p.pod} listening on ${p.listen} (pid ${p.pid})`).join(', ')
  lines.push(`lab ${s.prefix}${s.variant === 'collide' ? ' (variant collide)' : ''}: ${s.namespaces.length} namespaces, ${s.attachments.length} attachments, ${s.tailCalls.length} tail-call programs${listeners ? `; ${listeners}` : ''}`)
  for (const n of s.nodes) {
    lines.push(`${n.netns} (${n.hostname}, underlay ${n.underlayIp}, pods ${n.podCidr}, router ${n.routerIp})`)
    for (const a of s.attachments.filter((x) => x.node === n.name)) {
      const what = a.via === 'tc' ? `${a.tcName}` : a.via === 'xdp' ? `${a.progName} (${a.mode})` : `${a.progName} link ${a.linkId} position ${a.tcxPosition}`
      lines.push(`  ${a.devname}(${a.ifindex}) ${a.kind} ${what} id ${a.progId}`)
    }
    for (const t of s.tailCalls.filter((x) => x.node === n.name)) lines.push(`  tail call ${t.map}[${t.slot}] -> ${t.progName} id ${t.progId} (to-container for ${t.devname})`)
    const maps = (s.ciliumMaps ?? []).filter((m) => m.node === n.name)
    if (maps.length > 0) lines.push(`  maps ${maps.map((m) => `${m.name} id ${m.id} (${m.entries})`).join(', ')}`)
  }
  for (const p of s.pods) lines.push(`${p.netns}: ${p.ip} eth0(${p.eth0.ifindex}) <-> ${p.lxc.name}(${p.lxc.ifindex}) on ${p.node}`)
  if (s.ext) lines.push(`${s.ext.netns}: ${s.ext.ip}/${s.ext.prefixLen} eth0(${s.ext.eth0.ifindex}) <-> ${s.ext.nodeDev.name}(${s.ext.nodeDev.ifindex}) ${s.ext.nodeDev.ip} on ${s.ext.node} (outside the cluster; no route to the pods)`)
  for (const svc of s.services ?? []) lines.push(`service ${svc.name} ${svc.clusterIp}:${svc.port}/${svc.protocol} -> ${svc.endpoints.map((e) => `${e.ip}:${e.port} (${e.pod})`).join(', ')} via ${svc.svcChain} on ${svc.node}`)
  if (s.netfilter) {
    for (const n of s.nodes) {
      const rs = s.netfilter.rules.filter((r) => r.node === n.name)
      if (rs.length === 0) continue
      const by = (v: string) => rs.filter((r) => r.variant === v)
      const owners = (v: string) => [...new Set(by(v).map((r) => r.owner))].map((o) => `${o} ${by(v).filter((r) => r.owner === o).length}`).join(', ')
      lines.push(`${n.netns} iptables: ${by('base').length} base rules (${owners('base')})${by('collide').length ? `, ${by('collide').length} collide rules (${owners('collide')})` : ''}`)
    }
  }
  for (const f of s.flows ?? []) lines.push(`flow ${f.kind}: ${f.src} -> ${f.dst}:${f.dport}/${f.proto} (${f.expect.connected ? 'connects' : 'dropped'}): ${f.description}`)
  if (s.collide) {
    const m = s.collide.markOr
    lines.push(`variant collide on ${s.collide.node}: rules of ${s.collide.owners.join(', ')} added (see netfilter.rules with variant "collide")`)
    for (const c of s.netfilter.ip.filter((x) => x.variant === 'collide')) lines.push(`  ip ${c.command} (${c.owner})`)
    for (const r of s.netfilter.rules.filter((x) => x.variant === 'collide')) lines.push(`  ${r.table}: ${r.saved} (${r.owner})`)
    lines.push(`  eBPF: ${m.object} on ${m.node} ${m.devname}(${m.ifindex}) ${m.kind} (${m.hook}) id ${m.progId} ORs ${m.hex} into skb->mark (${m.define})`)
  }
  lines.push(`flow recordings: bpftool map dump pinned ${s.flowMapPin}`)
  return lines
}

export function formatLabStatus(st: LabStatus): string[] {
  if (!st.up) {
    if (!st.reason) return [`lab ${st.prefix} is down`]
    return [`lab ${st.prefix} is down: ${st.reason}`]
  }
  const dead = st.processes.filter((p) => !p.alive)
  return [
    `lab ${st.prefix} is up (since ${st.state.createdAt})${dead.length ? `; not running: ${dead.map((p) => `${p.pod} pid ${p.pid}`).join(', ')}` : ''}`,
    ...(isVariantState(st.state) ? formatVariantState(st.state) : formatLabState(st.state)),
  ]
}

export function formatLabDown(r: LabDownReport): string[] {
  if (r.nothingToDo) return [`lab ${r.prefix}: nothing to remove`]
  const parts: string[] = []
  if (r.killed.length) parts.push(`killed ${r.killed.map((k) => `${k.comm || 'pid'} ${k.pid} (${k.netns})`).join(', ')}`)
  if (r.namespaces.length) parts.push(`deleted namespaces ${r.namespaces.join(', ')}`)
  if (r.bpffsUnmounted) parts.push('unmounted the lab bpffs')
  if (r.stateDirRemoved) parts.push('removed the state directory')
  return [`lab ${r.prefix}: ${parts.join('; ')} (${r.durationMs} ms)`]
}
