/**
 * The runs of the iptables dumps, apart from their parser (iptables-save.ts): marks and trace start them first,
 * before the ~100 modules of the grammar are loaded, so the tool is already fetching while they load.
 */
import type {IpFamily, XtBackend} from '../model/netfilter.js'
import {runStreaming, type RawOutput, type RunRequest, type Source, type StdoutSink} from '../source/types.js'

/** @internal tested directly (a test seam) */
export const IPTABLES_SAVE_ARGV = {ipv4: ['iptables-save'], ipv6: ['ip6tables-save']} as const
/** @internal tested directly (a test seam) */
export const IPTABLES_LEGACY_SAVE_ARGV = {ipv4: ['iptables-legacy-save'], ipv6: ['ip6tables-legacy-save']} as const

/** iptables-save on the nft backend can need ~14 s for 110k rules (docs/kernel-notes.md#kn-8-ruleset-scale); the default 20 s runner timeout is too tight. */
const IPTABLES_SAVE_TIMEOUT_MS = 120_000
/** The legacy backend dumps the same 110k rules in 0.34 s. */
const IPTABLES_LEGACY_SAVE_TIMEOUT_MS = 30_000

/** The run of one dump: `iptables-save` for whichever backend the node's alternatives point at (nft on Debian 12), `iptables-legacy-save` for the legacy tables iptables-nft only warns about. */
export function iptablesSaveRequest(family: IpFamily, backend: XtBackend): RunRequest {
  return backend === 'legacy'
    ? {argv: IPTABLES_LEGACY_SAVE_ARGV[family], timeoutMs: IPTABLES_LEGACY_SAVE_TIMEOUT_MS, deepOutput: true}
    : {argv: IPTABLES_SAVE_ARGV[family], timeoutMs: IPTABLES_SAVE_TIMEOUT_MS, deepOutput: true}
}

/** `iptables-save` / `ip6tables-save`. @internal tested directly (a test seam) */
export function collectIptablesSave(src: Source, family: IpFamily): Promise<RawOutput> {
  return src.run(iptablesSaveRequest(family, 'nft'))
}

/** `iptables-legacy-save` / `ip6tables-legacy-save`. @internal tested directly (a test seam) */
export function collectIptablesLegacySave(src: Source, family: IpFamily): Promise<RawOutput> {
  return src.run(iptablesSaveRequest(family, 'legacy'))
}

/** The same run, its stdout handed to `onChunk` as the tool prints it (a 110k-rule dump is parsed meanwhile). */
export function streamIptablesSave(src: Source, family: IpFamily, backend: XtBackend, onChunk: StdoutSink): Promise<RawOutput> {
  return runStreaming(src, iptablesSaveRequest(family, backend), onChunk)
}

