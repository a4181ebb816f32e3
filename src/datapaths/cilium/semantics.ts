import type {Device} from '../../model/hooks.js'
import {compact} from '../../util/compact.js'
import type {ProgramEffect, ProgramNext, SemanticsContext} from '../plugin.js'
import type {CiliumFacts} from './facts.js'
import {lookupIpcache} from './ipcache-lookup.js'
import type {CiliumEndpoint} from './lxc.js'

/**
 * What a recognised Cilium program does to the packet (tunnel mode), by its role, reading its maps the way
 * docs/scenario.md#the-walk does: from-container looks the destination up in cilium_lxc (a local endpoint) or
 * cilium_ipcache (a tunnel endpoint); from-overlay and to-container deliver to a local endpoint, from-overlay
 * through the endpoint's policy program in cilium_call_policy. Policy maps are not read: allowed is assumed.
 */
export function ciliumSemantics(ctx: SemanticsContext<CiliumFacts>): ProgramEffect {
  const {facts, node, dev, pkt} = ctx
  const role = ctx.program.recognition?.role ?? ''
  const localEp = (ip: string): CiliumEndpoint | undefined => facts.endpoints.find((e) => e.ip === ip && !e.isHost)
  const lxcOf = (ep: CiliumEndpoint): Device | undefined => node.devices.find((d) => d.ifindex === ep.ifindex)
  const into = (lxc: Device | undefined): ProgramNext => (lxc ? {kind: 'deliver', dev: lxc} : {kind: 'pass'})
  const lxcName = (ep: CiliumEndpoint, lxc: Device | undefined) => lxc?.name ?? `ifindex ${ep.ifindex}`
  if (role === 'from-container') {
    const ep = localEp(pkt.tuple.dst)
    if (ep) {
      const lxc = lxcOf(ep)
      const details = [`cilium_lxc: ${ep.ip} is local endpoint ${ep.endpointId} on ifindex ${ep.ifindex}`, 'egress policy: not read (assumed allowed)']
      return {steps: [{verdict: `local endpoint ${ep.endpointId}: to-container, then redirect to ${lxcName(ep, lxc)}`, verdictKind: 'redirect', evidence: 'program', details}], next: into(lxc)}
    }
    const ip = lookupIpcache(facts.ipcache, pkt.tuple.dst)
    if (ip?.tunnelEndpoint && ip.tunnelEndpoint !== '0.0.0.0' && ip.tunnelEndpoint !== '::') {
      const vx = node.devices.find((d) => d.name === 'cilium_vxlan' || d.name === 'cilium_geneve')
      const local = vx?.vxlan?.local ?? ctx.uplink?.addresses.find((x) => x.family === 'inet')?.local ?? '?'
      const details = [
        `cilium_ipcache: ${ip.prefix} identity=${ip.identity} encryptkey=${ip.encryptKey ?? 0} tunnelendpoint=${ip.tunnelEndpoint}`,
        "tunnel mode: the tunnel key (remote node; VNI = the source endpoint's security identity, not read here) is set and the packet redirected to the overlay device (direct routing would hand it to the stack)",
        'egress policy: not read (assumed allowed)',
      ]
      return {
        outer: compact({src: local, dst: ip.tunnelEndpoint, proto: 'udp' as const, dport: vx?.vxlan?.port ?? 8472}),
        steps: [{verdict: `encapsulate to ${ip.tunnelEndpoint}, redirect to ${vx?.name ?? 'cilium_vxlan'}`, verdictKind: 'redirect', evidence: 'program', details}],
        next: vx ? {kind: 'redirect', dev: vx} : {kind: 'pass'},
      }
    }
    const read = facts.ipcache.length > 0
    return {steps: [{verdict: 'pass to the stack', verdictKind: 'pass', evidence: read ? 'program' : 'assumed', details: [read ? `cilium_ipcache: no tunnel endpoint for ${pkt.tuple.dst}` : 'cilium_ipcache not read: assumed handed to the stack']}], next: {kind: 'pass'}}
  }
  if (role === 'from-overlay' || role === 'to-container') {
    const ep = localEp(pkt.tuple.dst)
    if (!ep) {
      const read = facts.endpoints.length > 0
      return {steps: [{verdict: 'pass to the stack', verdictKind: 'pass', evidence: read ? 'program' : 'assumed', details: [read ? `cilium_lxc: ${pkt.tuple.dst} is not a local endpoint` : 'cilium_lxc not read']}], next: {kind: 'pass'}}
    }
    const lxc = lxcOf(ep)
    if (role === 'to-container') {
      return {steps: [{verdict: `ingress policy, then redirect to ${lxcName(ep, lxc)}`, verdictKind: 'redirect', evidence: 'program', details: ['ingress policy: not read (assumed allowed)']}], next: into(lxc)}
    }
    const policy = facts.policyCalls.find((c) => c.key === ep.endpointId)
    const target = policy ? node.programs.find((x) => x.id === policy.progId) : undefined
    return {
      steps: [
        {verdict: `local delivery: tail call to endpoint ${ep.endpointId}'s policy program`, verdictKind: 'tail-call', evidence: 'program', details: [`cilium_lxc: ${ep.ip}:0 id=${ep.endpointId} ifindex=${ep.ifindex} mac=${ep.mac} nodemac=${ep.nodeMac}`]},
        {
          kind: 'tail-call',
          where: compact({device: dev.name, ifindex: dev.ifindex, hook: 'tail call (not attached to a hook)', endpoint: lxc?.name}),
          what: `to-container of endpoint ${ep.endpointId}${policy ? `: program ${policy.progId}${target?.name ? ` ${target.name}` : ''}` : ' (cilium_call_policy slot not read)'}`,
          program: compact({id: policy?.progId, name: target?.name, role: 'to-container', software: 'Cilium'}),
          verdict: `ingress policy, then redirect to ${lxcName(ep, lxc)}`,
          verdictKind: 'redirect',
          evidence: 'program',
          details: ['ingress policy: not read (assumed allowed)', policy ? `cilium_call_policy[${ep.endpointId}] = program ${policy.progId}` : 'cilium_call_policy not read: the target program id is unknown'],
        },
      ],
      next: into(lxc),
      ...(policy ? {} : {unseen: [`${node.label}: the to-container program of endpoint ${ep.endpointId} (cilium_call_policy not read)`]}),
    }
  }
  // to-overlay, to-netdev, from-netdev, to-host, from-host, xdp: on the packets of this walk they hand it on.
  return {steps: [{verdict: role === 'from-netdev' ? 'pass to the stack' : 'pass', verdictKind: 'pass', evidence: 'program', details: []}], next: {kind: 'pass'}}
}
