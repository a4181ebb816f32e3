import type {DeviceHooks, HookView, HooksReport} from '../analyses/hooks.js'
import {printableReport} from '../util/printable.js'
import {PLAIN, type Style} from './style.js'
import {TextTable} from './text-table.js'

/**
 * Human view of a hooks report: a header per device, then one table row per program in kernel run order.
 * Every string of the report is made printable first (names and notes come from the node or a snapshot).
 */
export function renderHooksTable(report: HooksReport, style: Style = PLAIN, columns = 100): string {
  const r = printableReport(report)
  const out: string[] = []
  out.push(style.bold(nodeLine(r)))
  if (r.node.note) out.push(style.dim(`note: ${r.node.note}`))
  const vis = r.tcxVisibility.kernelHasTcx === false ? 'this kernel has no tcx/netkit' : r.tcxVisibility.helper === 'ok' ? 'tcx/netkit via BPF_PROG_QUERY (nodeinspect-bpf)' : r.tcxVisibility.bpftoolShowsTcx ? 'tcx/netkit via bpftool' : 'tcx/netkit NOT visible'
  out.push(
    `${r.summary.devices} device${r.summary.devices === 1 ? '' : 's'}${r.devFilter ? ` matching ${r.devFilter}` : ''}, ${r.summary.devicesWithPrograms} with programs, ${r.summary.attachments} attachment${r.summary.attachments === 1 ? '' : 's'} of ${r.summary.programs} program${r.summary.programs === 1 ? '' : 's'} (${vis})`,
  )
  if (r.deviceListIncomplete) out.push(style.warn(`device list incomplete: ${r.deviceListIncomplete}`))
  const bare: DeviceHooks[] = []
  for (const d of r.devices) {
    if (d.hooks.length === 0 && !r.devFilter) {
      bare.push(d)
      continue
    }
    out.push('')
    out.push(style.bold(deviceLine(d)))
    const peer = peerLine(d)
    if (peer) out.push(`  ${peer}`)
    if (d.hooks.length === 0) {
      out.push(style.dim('  no programs on any hook'))
      continue
    }
    out.push(hookTable(d.hooks, columns))
  }
  if (bare.length > 0) {
    out.push('')
    out.push(style.dim(`No programs on: ${bare.map((d) => `${d.name}(${d.ifindex}) ${kindText(d)}, ${d.role}`).join('; ')}`))
  }
  if (r.flowDissector.length > 0) out.push('', `flow dissector: ${r.flowDissector.map((f) => `id ${f.progId}${f.program?.name ? ` ${f.program.name}` : ''}`).join(', ')}`)
  if (r.warnings.length > 0) {
    out.push('')
    for (const w of r.warnings) out.push(style.warn(`warning: ${w.message}`))
  }
  return out.join('\n')
}

function nodeLine(r: HooksReport): string {
  const n = r.node
  const parts = [`node ${n.hostname ?? '?'}`]
  if (n.netns) parts.push(`netns ${n.netns}`)
  if (n.kernel) parts.push(`kernel ${n.kernel}`)
  parts.push(n.source === 'snapshot' ? `snapshot ${n.snapshotFile ?? ''}${n.takenAt ? ` taken ${n.takenAt}` : ''}`.trim() : 'live')
  return parts.join(' · ')
}

function kindText(d: DeviceHooks): string {
  if (d.kind === 'vxlan' && d.vxlan) {
    const v = d.vxlan
    const bits = [v.external ? 'external' : v.vni !== undefined ? `vni ${v.vni}` : undefined, v.port !== undefined ? `port ${v.port}` : undefined, v.dev ? `dev ${v.dev}` : undefined, v.remote ? `remote ${v.remote}` : undefined]
    return `vxlan (${bits.filter(Boolean).join(', ')})`
  }
  return d.kind
}

function deviceLine(d: DeviceHooks): string {
  const parts = [d.name, `ifindex ${d.ifindex}`, kindText(d), `${d.role}${d.software ? ` (${d.software})` : ''}: ${d.roleBecause}`]
  if (d.mac) parts.push(d.mac)
  if (d.addresses.length) parts.push(d.addresses.join(' '))
  if (d.master) parts.push(`master ${d.master}`)
  return parts.join(' · ')
}

function peerLine(d: DeviceHooks): string | undefined {
  const p = d.peer
  if (!p) return undefined
  const where = p.sameNetns ? 'in this netns' : p.netns ? `in netns ${p.netns}` : p.netnsId !== undefined ? `in netns id ${p.netnsId} (unnamed)` : 'in another netns'
  const who = [p.name === undefined ? undefined : p.name, p.ifindex !== undefined ? `ifindex ${p.ifindex}` : undefined].filter(Boolean).join(' ')
  const ips = p.podIps.length ? ` · pod IP ${p.podIps.map((x) => `${x.ip} (${x.evidence})`).join(', ')}` : ''
  return `peer: ${who || '?'} ${where}${ips}`
}

function hookLabel(h: HookView): string {
  switch (h.hook) {
    case 'xdp':
      return `xdp ${h.xdpMode ?? ''}`.trim()
    case 'tc-ingress':
    case 'tc-egress': {
      const t = h.tc
      const dir = h.hook === 'tc-ingress' ? 'ingress' : 'egress'
      const detail = t ? [`pref ${t.pref}`, t.handle ? `handle ${t.handle}` : undefined, t.chain !== undefined ? `chain ${t.chain}` : undefined, t.directAction ? 'da' : t.directAction === false ? 'no-da' : undefined] : []
      return [`tc ${dir}`, detail.filter(Boolean).join(' ')].filter(Boolean).join('\n')
    }
    case 'tcx-ingress':
    case 'tcx-egress':
    case 'netkit-primary':
    case 'netkit-peer': {
      const [mech, dir] = h.hook.split('-')
      return [`${mech} ${dir}`, h.tcx ? `#${h.tcx.position}` : undefined, h.tcx?.linkId !== undefined ? `link ${h.tcx.linkId}` : undefined].filter(Boolean).join(' ')
    }
    case 'flow-dissector':
      return 'flow dissector'
  }
}

function hookRow(h: HookView): string[] {
  const p = h.program
  const what = [h.recognised ? `${h.recognised.software} ${h.recognised.role}: ${h.recognised.summary} (recognised by ${h.recognised.matchedBy} "${h.recognised.matched}")` : 'not recognised', ...(h.notes ?? []).map((n) => `note: ${n}`)].join('\n')
  const prog = [
    `id ${h.progId}${p ? ` ${p.type}${p.name ? ` ${p.name}` : ''}` : ' (not listed by bpftool prog)'}`,
    h.attachName && h.attachName !== p?.name ? h.attachName : undefined,
    p?.tag ? `tag ${p.tag}` : undefined,
    p?.loadedAt ? `loaded ${p.loadedAt}` : undefined,
    p ? (p.mapIds.length ? `maps ${p.mapIds.join(',')}` : 'no maps') : undefined,
  ]
  return [`${h.order}. ${hookLabel(h)}`, prog.filter(Boolean).join('\n'), what]
}

function hookTable(hooks: HookView[], columns: number): string {
  const hookW = 24
  const progW = 40
  const whatW = Math.max(30, columns - hookW - progW - 10)
  const t = new TextTable({head: ['hook (run order)', 'program', 'what it is'], wordWrap: true, breakLongWords: true, colWidths: [hookW, progW, whatW]})
  for (const dir of ['ingress', 'egress', 'peer'] as const) {
    const mine = hooks.filter((h) => h.direction === dir)
    if (mine.length === 0 && dir !== 'peer') t.push([dir, '(no program)', `nothing is attached on ${dir}`])
    for (const h of mine) t.push(hookRow(h))
  }
  return t.toString()
}
