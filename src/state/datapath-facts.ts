import {DATAPATHS} from '../datapaths/registry.js'
import type {DatapathPlugin, MapDump} from '../datapaths/plugin.js'
import type {DatapathFacts} from '../model/node-state.js'
import type {BpfMapInfo} from '../model/bpf-map.js'
import type {BpfProgram} from '../model/hooks.js'
import type {Warning} from '../model/warning.js'
import {BPFTOOL_NET_ARGV, parseBpftoolNetJson} from '../probes/bpftool-net.js'
import {BPFTOOL_PROG_ARGV, parseBpftoolProgJson} from '../probes/bpftool-prog.js'
import {BPFTOOL_MAP_SHOW_ARGV, bpftoolMapDumpArgv, MAP_DUMP_TIMEOUT_MS, parseBpftoolMapShow} from '../probes/bpftool-map.js'
import type {Source} from '../source/types.js'
import {take} from './run-probes.js'

export interface CollectDatapathFactsOptions {
  /** Every loaded program (`bpftool -j prog show`), when the caller has read them; else read here. */
  programs?: readonly BpfProgram[]
  /**
   * Ids of the programs attached in the Source's netns (bpftool net show plus tcx/netkit from the helper), used
   * to tell this node's maps from others of the same name. When absent, `bpftool -j net show` is run for them.
   */
  attachedProgIds?: readonly number[]
  plugins?: readonly DatapathPlugin[]
}

/**
 * Every datapath plugin's facts of one node, with a constant number of processes: `bpftool -j map show` (and
 * `bpftool -j prog show`, `bpftool -j net show` when not given) in parallel, then one `bpftool -j map dump id N`
 * per map a plugin chose, in parallel. The plugins choose and decode; this only runs bpftool.
 */
export async function collectDatapathFacts(src: Source, opts: CollectDatapathFactsOptions = {}): Promise<{facts: DatapathFacts; warnings: Warning[]}> {
  const warnings: Warning[] = []
  const [showOut, progOut, netOut] = await Promise.all([
    src.run({argv: BPFTOOL_MAP_SHOW_ARGV}),
    opts.programs ? Promise.resolve(undefined) : src.run({argv: BPFTOOL_PROG_ARGV}),
    opts.attachedProgIds ? Promise.resolve(undefined) : src.run({argv: BPFTOOL_NET_ARGV}),
  ])
  const maps = take('bpftool -j map show', showOut, (o) => parseBpftoolMapShow(o.stdout), [] as BpfMapInfo[], warnings)
  const programs = opts.programs ?? take('bpftool -j prog show', progOut, (o) => parseBpftoolProgJson(o.stdout), [] as BpfProgram[], warnings)
  const attachedProgIds = opts.attachedProgIds
    ? [...opts.attachedProgIds]
    : [...new Set(take('bpftool -j net show', netOut, (o) => parseBpftoolNetJson(o.stdout), {attachments: [], flowDissectorProgIds: [], netfilterProgs: 0}, warnings).attachments.map((a) => a.progId))]
  const plans = (opts.plugins ?? DATAPATHS).map((p) => ({plugin: p, plan: p.readMaps({maps: showOut.failure ? undefined : maps, programs, attachedProgIds})}))
  const ids = [...new Set(plans.flatMap((x) => x.plan.dump.map((m) => m.id)))]
  const outs = await Promise.all(ids.map((id) => src.run({argv: bpftoolMapDumpArgv(id), timeoutMs: MAP_DUMP_TIMEOUT_MS})))
  const dumps = new Map<number, MapDump>()
  ids.forEach((id, i) => {
    const out = outs[i]!
    const probe = `bpftool -j map dump id ${id}`
    dumps.set(id, out.failure ? {failed: {probe, kind: out.failure, message: out.message ?? `${probe}: failed`}} : {text: out.stdout})
  })
  const facts: Record<string, unknown> = {}
  for (const {plugin, plan} of plans) {
    const r = plan.decode(dumps)
    facts[plugin.name] = r.facts
    for (const w of r.warnings) warnings.push(w)
  }
  return {facts, warnings}
}
