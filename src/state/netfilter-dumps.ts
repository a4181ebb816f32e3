import type {IpFamily} from '../model/netfilter.js'
import {collectIptablesLegacySave, collectIptablesSave, type IptablesSaveOptions} from '../probes/iptables-save.js'
import type {Parsed, Warning} from '../model/warning.js'
import type {RawOutput, Source} from '../source/types.js'
import {take} from './run-probes.js'

/** The four iptables dumps of a node: iptables-save and ip6tables-save on both backends, read in parallel. */
export interface XtDumpOutputs {
  outputs: Array<{out: RawOutput; family: IpFamily; backend: 'nft' | 'legacy'}>
}

export async function collectXtDumps(src: Source): Promise<XtDumpOutputs> {
  const [x4, x6, l4, l6] = await Promise.all([collectIptablesSave(src, 'ipv4'), collectIptablesSave(src, 'ipv6'), collectIptablesLegacySave(src, 'ipv4'), collectIptablesLegacySave(src, 'ipv6')])
  return {
    outputs: [
      {out: x4, family: 'ipv4', backend: 'nft'},
      {out: x6, family: 'ipv6', backend: 'nft'},
      {out: l4, family: 'ipv4', backend: 'legacy'},
      {out: l6, family: 'ipv6', backend: 'legacy'},
    ],
  }
}

/**
 * Parse each dump with `parse` (the full parser for trace, the mark-only pass for marks). A node without the
 * legacy tools simply has no legacy tables; any other failure is a warning and the rest still comes.
 */
export function parseXtDumps<T>(d: XtDumpOutputs, warnings: Warning[], parse: (text: string, opts: IptablesSaveOptions) => Parsed<T>): T[] {
  const out: T[] = []
  for (const {out: o, family, backend} of d.outputs) {
    if (o.failure === 'missing-binary' && backend === 'legacy') continue
    const v = take(o.argv.join(' '), o, (x) => parse(x.stdout, {family, backend, stderr: x.stderr}), undefined as T | undefined, warnings)
    if (v !== undefined) out.push(v)
  }
  return out
}
