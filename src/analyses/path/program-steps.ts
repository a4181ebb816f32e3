import type {NodeState} from '../../model/node-state.js'
import type {ProgramAtHook} from '../../datapaths/plugin.js'
import {DATAPATHS, datapathOf, factsOf} from '../../datapaths/registry.js'
import {recogniseAttachment, type Recognition} from '../../knowledge/programs.js'
import type {Device, HookAttachment} from '../../model/hooks.js'
import type {PathStep, StepKind, StepProgram} from '../../model/path.js'
import {compact} from '../../util/compact.js'
import {applyProgramMarks, type Packet} from './packet.js'
import type {PathRecorder} from './path-recorder.js'
import {uplinkOf} from './placement.js'

/** The kernel stops tail-call chains at 33 (MAX_TAIL_CALL_CNT). */
const MAX_TAIL_CALLS = 33

/** Where the packet goes after a program: on (undefined), to another device's egress, delivered into a pod, dropped. */
export interface ProgramResult {
  next?: Device | 'deliver' | 'drop'
  label: string
}

/**
 * The steps of one attached (or tail-called) eBPF program: its mark writes from its code, then what it does to
 * the packet — from the datapath plugin that models it, or, where none does, an assumption that says so.
 */
export class ProgramSteps {
  constructor(
    private readonly rec: PathRecorder,
    /** The packet reaches the pod behind `dev` (the walk's delivery step), sent there on the veth or by bpf_redirect_peer. */
    private readonly deliver: (node: NodeState, dev: Device, pkt: Packet, via: 'veth' | 'peer') => void,
  ) {}

  /** `via`: what the tail call that reached the program says it is, when its name does not. */
  run(node: NodeState, dev: Device, a: HookAttachment, pkt: Packet, depth = 0, endpoint?: string, via?: Recognition): ProgramResult {
    const p = node.hooks.programs.find((x) => x.id === a.progId)
    const recognition = recogniseAttachment(a, p) ?? via
    const code = node.code.get(a.progId)
    const label = `${a.attachName ?? p?.name ?? 'program'} (id ${a.progId})`
    const hookName = `${a.hook.replace('-', ' ')}${a.hook === 'xdp' && a.xdpMode ? ` (${a.xdpMode})` : ''}`
    const program: StepProgram = compact({id: a.progId, name: p?.name, attachName: a.attachName, role: recognition?.role, software: recognition?.software})
    const where = compact({device: dev.name, ifindex: dev.ifindex, hook: depth ? 'tail call' : hookName, endpoint})
    const kind: StepKind = depth ? 'tail-call' : 'bpf'
    const details: string[] = []
    if (recognition) details.push(`recognised as ${recognition.software} ${recognition.role} by ${recognition.matchedBy} "${recognition.matched}": ${recognition.summary}`)
    const markBefore = pkt.mark
    // skb->mark exists for tc programs only; XDP's context has no mark.
    if (code && p?.type !== 'xdp') applyProgramMarks(code, pkt, details)

    const redirects = [...new Set(code?.helperCalls.filter((h) => h.family === 'redirect').map((h) => h.helper) ?? [])]
    const tailMaps = code?.helperCalls.filter((h) => h.helper === 'bpf_tail_call').map((h) => h.mapId) ?? []
    const at: ProgramAtHook = compact({attachment: a, program: p, recognition, code, depth})
    const plugin = datapathOf(at)
    const followTails = (): ProgramResult => (tailMaps.length ? this.followTailCalls(node, dev, a, recognition?.role, tailMaps, pkt, depth) : {label})

    if (!plugin) {
      // Nothing models it: say what its code allows, assume it hands the packet on, and list it as unseen.
      const could = !code
        ? {long: 'its instructions were not read: it may pass, drop or redirect the packet', short: 'its instructions were not read'}
        : redirects.length
          ? {long: `its instructions call ${redirects.join(', ')}: it may pass, drop or redirect the packet (target not known)`, short: `calls ${redirects.join(', ')}: may redirect; target not known`}
          : {long: 'its instructions call no redirect helper: it can only pass or drop the packet', short: 'calls no redirect helper: may drop'}
      const what = recognition ? `${recognition.software}'s ${recognition.role} program` : 'this program'
      const modelled = `no datapath plugin models ${what} (plugins: ${DATAPATHS.map((d) => d.name).join(', ')})`
      this.rec.unseen.push(`${node.label} ${dev.name} ${hookName}: ${label}: not modelled; ${could.short}`)
      this.rec.push(node, {kind, where, what: label, verdict: 'pass (assumed)', verdictKind: 'pass', pkt, evidence: 'assumed', details: [...details, modelled, could.long, 'assumed: it lets the packet go on'], program})
      return followTails()
    }
    if (code && redirects.length === 0) {
      details.push('its instructions call no redirect helper: it can only let the packet go on or drop it (assumed: on)')
      this.rec.push(node, {kind, where, what: label, verdict: 'pass', verdictKind: 'pass', pkt, evidence: 'program', details, program})
      return followTails()
    }
    if (code) details.push(`its instructions call ${redirects.join(', ')}: ${recognition?.software ?? plugin.name}'s known semantics decide where`)
    else if (markBefore === pkt.mark) details.push('its instructions were not read: known semantics of the recognised program')
    const effect = plugin.semantics({facts: factsOf(plugin, node.datapaths), node: {label: node.label, devices: node.hooks.devices, programs: node.hooks.programs}, dev, uplink: uplinkOf(node), program: at, pkt})
    if (effect.outer) pkt.outer = effect.outer
    effect.steps.forEach((s, i) => {
      const stepWhere: PathStep['where'] = s.where ?? where
      this.rec.push(node, {kind: s.kind ?? kind, where: stepWhere, what: s.what ?? label, program: s.program ?? program, verdict: s.verdict, verdictKind: s.verdictKind, pkt, evidence: s.evidence, details: i === 0 ? [...details, ...s.details] : s.details})
    })
    for (const u of effect.unseen ?? []) this.rec.unseen.push(u)
    switch (effect.next.kind) {
      case 'deliver':
        // A program whose only redirect is bpf_redirect_peer moves the packet into the pod without a veth transmit.
        this.deliver(node, effect.next.dev, pkt, redirects.length === 1 && redirects[0] === 'bpf_redirect_peer' ? 'peer' : 'veth')
        return {next: 'deliver', label}
      case 'redirect':
        return {next: effect.next.dev, label}
      case 'drop':
        return {next: 'drop', label}
      case 'pass':
        return {label}
    }
  }

  /** A program's tail calls: into the program a plugin finds in its map's slot, else unseen (assumed to go on). */
  private followTailCalls(node: NodeState, dev: Device, a: HookAttachment, role: string | undefined, mapIds: Array<number | undefined>, pkt: Packet, depth: number): ProgramResult {
    if (depth >= MAX_TAIL_CALLS) return {label: 'tail call limit'}
    for (const plugin of DATAPATHS) {
      const r = plugin.resolveTailCall({facts: factsOf(plugin, node.datapaths), pkt, mapIds})
      if (!r) continue
      this.rec.note(r.note)
      if (!r.target) return {label: 'tail call miss'}
      const target: HookAttachment = {ifindex: dev.ifindex, devname: dev.name, hook: a.hook, progId: r.target.progId, witnesses: []}
      const tp = node.hooks.programs.find((x) => x.id === r.target!.progId)
      if (tp?.name) target.attachName = tp.name
      const endpointIfindex = r.target.endpointIfindex
      const endpoint = endpointIfindex !== undefined ? node.hooks.devices.find((d) => d.ifindex === endpointIfindex)?.name : undefined
      return this.run(node, dev, target, pkt, depth + 1, endpoint, r.target.recognition)
    }
    this.rec.unseen.push(`${node.label} ${dev.name}: tail calls through map ${mapIds.filter((x) => x !== undefined).join(', ') || '?'} (${role ?? 'unknown program'}): targets not read`)
    this.rec.note(`tail calls through map${mapIds.length > 1 ? 's' : ''} ${mapIds.join(', ')}: targets not read; assumed to let the packet go on`)
    return {label: 'tail call'}
  }
}
