import type {IpFamily} from '../model/netfilter.js'
import {collectIptablesLegacySave, collectIptablesSave, type IptablesSaveOptions} from '../probes/iptables-save.js'
import {collectIptablesNftSave, judgeIptablesSave, pickNftSideDump} from '../probes/iptables-backend.js'
import type {Parsed, Warning} from '../model/warning.js'
import type {RawOutput, Source} from '../source/types.js'
import {take} from './run-probes.js'

/** The iptables dumps of a node: both families on both backends. */
export interface XtDumpOutputs {
  outputs: Array<{out: RawOutput; family: IpFamily; backend: 'nft' | 'legacy'}>
  /** Warnings about the choice of dumps (iptables-backend.ts), given with the parsed dumps. */
  notes: Warning[]
}

/**
 * iptables-save and iptables-legacy-save of both families in parallel; then, for a family whose iptables-save
 * did not prove it read nf_tables (its header), iptables-nft-save as well (iptables-backend.ts says why).
 */
export async function collectXtDumps(src: Source): Promise<XtDumpOutputs> {
  const [x4, x6, l4, l6] = await Promise.all([collectIptablesSave(src, 'ipv4'), collectIptablesSave(src, 'ipv6'), collectIptablesLegacySave(src, 'ipv4'), collectIptablesLegacySave(src, 'ipv6')])
  const notes: Warning[] = []
  const nftSide = async (save: RawOutput, family: IpFamily): Promise<RawOutput[]> => {
    const asked = judgeIptablesSave(save).verdict === 'ask-nft-save' ? await collectIptablesNftSave(src, family) : undefined
    const {use, note} = pickNftSideDump(save, asked)
    if (note !== undefined) notes.push({probe: save.argv.join(' '), kind: 'unsupported', message: note})
    return use ? [use] : []
  }
  const [n4, n6] = await Promise.all([nftSide(x4, 'ipv4'), nftSide(x6, 'ipv6')])
  return {
    outputs: [
      ...n4.map((out) => ({out, family: 'ipv4' as const, backend: 'nft' as const})),
      ...n6.map((out) => ({out, family: 'ipv6' as const, backend: 'nft' as const})),
      {out: l4, family: 'ipv4', backend: 'legacy'},
      {out: l6, family: 'ipv6', backend: 'legacy'},
    ],
    notes,
  }
}

/**
 * Parse each dump with `parse` (the full parser for trace, the mark-only pass for marks). A node without the
 * legacy tools simply has no legacy tables; any other failure is a warning and the rest still comes.
 */
export function parseXtDumps<T>(d: XtDumpOutputs, warnings: Warning[], parse: (text: string, opts: IptablesSaveOptions) => Parsed<T>): T[] {
  const out: T[] = []
  warnings.push(...d.notes)
  for (const {out: o, family, backend} of d.outputs) {
    if (o.failure === 'missing-binary' && backend === 'legacy') continue
    const v = take(o.argv.join(' '), o, (x) => parse(x.stdout, {family, backend, stderr: x.stderr}), undefined as T | undefined, warnings)
    if (v !== undefined) out.push(v)
  }
  return out
}
