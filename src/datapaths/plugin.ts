
import type {ProgramSummary} from '../model/program-summary.js'
import type {Recognition} from '../knowledge/programs.js'
import type {BpfMapInfo} from '../model/bpf-map.js'
import type {BpfProgram, Device, HookAttachment} from '../model/hooks.js'
import type {Evidence, PathStep, StepProgram, Tuple, VerdictKind} from '../model/path.js'
import type {Warning} from '../model/warning.js'

/** What a plugin chooses its maps from. */
export interface MapChoiceInput {
  /** Every map in the kernel (`bpftool -j map show`); undefined when that could not be read. */
  maps: readonly BpfMapInfo[] | undefined
  /** Every loaded program (`bpftool -j prog show`): their map_ids tell which maps the programs here use. */
  programs: readonly BpfProgram[]
  /** Programs attached in this netns. */
  attachedProgIds: readonly number[]
}

/** One map's dump: bpftool's text, or why there is none (a warning for the report). */
export type MapDump = {text: string} | {failed: Warning}

/** The maps to dump, and how to read their dumps (by map id; a map missing from them was not read). */
export interface MapPlan<F> {
  dump: readonly BpfMapInfo[]
  decode(dumps: ReadonlyMap<number, MapDump>): {facts: F; warnings: Warning[]}
}

/** A program as the walker meets it: attached to a hook, or reached by a tail call (`depth` > 0). */
export interface ProgramAtHook {
  attachment: HookAttachment
  program?: BpfProgram
  recognition?: Recognition
  /** What its instructions do (absent: not dumped). */
  code?: ProgramSummary
  depth: number
}

/** What a plugin may read of the node besides its own facts. */
interface DatapathNode {
  label: string
  devices: readonly Device[]
  programs: readonly BpfProgram[]
}

export interface PacketView {
  tuple: Tuple
  outer?: Tuple & {vni?: number}
  mark: number
}

export interface SemanticsContext<F> {
  facts: F
  node: DatapathNode
  /** The device the program runs on. */
  dev: Device
  /** The node's uplink (the underlay a tunnel leaves by), when the walker found one. */
  uplink?: Device
  program: ProgramAtHook
  pkt: PacketView
}

/** One step a program's semantics add to the path; the first one is the program's own (its where/what/program by default). */
interface ProgramStep {
  kind?: 'bpf' | 'tail-call'
  where?: PathStep['where']
  what?: string
  program?: StepProgram
  verdict: string
  verdictKind: VerdictKind
  evidence: Evidence
  details: string[]
}

/** Where the packet goes after the program: on (next program, or the stack), to another device, into a pod, nowhere. */
export type ProgramNext = {kind: 'pass'} | {kind: 'redirect'; dev: Device} | {kind: 'deliver'; dev: Device} | {kind: 'drop'}

export interface ProgramEffect {
  /** The outer header the program set (a tunnel key), in place before its steps. */
  outer?: Tuple & {vni?: number}
  steps: ProgramStep[]
  next: ProgramNext
  /** What the plugin could not see (maps not read…). */
  unseen?: string[]
}

/** A tail call a plugin resolved: the note for the path and, on a hit, the program in the slot. */
export interface TailCallResolution {
  note: string
  target?: {
    progId: number
    /** The host-side device of the endpoint the target program belongs to. */
    endpointIfindex?: number
    /** What the program in the slot is, known from the slot (its own name may say nothing). */
    recognition?: Recognition
  }
}

export interface DatapathPlugin<F = unknown> {
  /** Also the key of its facts in DatapathFacts. */
  readonly name: string
  /** Whether it models what this program does (by its recognition: software and role). */
  recognises(p: ProgramAtHook): boolean
  /** Its facts when its maps were not read. */
  emptyFacts(): F
  /** Which maps to dump and how to decode them. */
  readMaps(input: MapChoiceInput): MapPlan<F>
  /** Programs whose code the walk will want besides the attached ones (tail-call targets in its maps). */
  extraProgramIds(facts: F): number[]
  /** What a recognised program does to the packet at its hook. */
  semantics(ctx: SemanticsContext<F>): ProgramEffect
  /** A tail call through one of its maps (`mapIds`: the maps the program's bpf_tail_call calls use); undefined when none is its. */
  resolveTailCall(ctx: {facts: F; pkt: PacketView; mapIds: ReadonlyArray<number | undefined>}): TailCallResolution | undefined
  /** The local endpoint (pod) that holds `ip`, by its host-side device: how a flow's source or destination is placed. */
  endpointOf(facts: F, ip: string): {ifindex: number; detail: string} | undefined
  /** The node to tunnel `ip` to, from its maps. */
  tunnelEndpointOf(facts: F, ip: string): {remote: string; how: string} | undefined
}
