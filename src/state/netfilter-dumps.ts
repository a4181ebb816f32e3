import type {IpFamily, XtBackend, XtRuleset} from '../model/netfilter.js'
import {collectIptablesNftSave, judgeIptablesSave, pickNftSideDump} from '../probes/iptables-backend.js'
import {streamIptablesSave} from '../probes/iptables-save-run.js'
import type {IptablesSaveOptions, IptablesSaveParser} from '../probes/iptables-save.js'
import {LateWarnings} from './late-warnings.js'
import type {Warning} from '../model/warning.js'
import type {RawOutput, Source} from '../source/types.js'
import {take} from './run-probes.js'

/** The four iptables dumps of a node: iptables-save and ip6tables-save on both backends. */
const DUMPS: ReadonlyArray<{family: IpFamily; backend: XtBackend}> = [
  {family: 'ipv4', backend: 'nft'},
  {family: 'ipv6', backend: 'nft'},
  {family: 'ipv4', backend: 'legacy'},
  {family: 'ipv6', backend: 'legacy'},
]

export interface XtDumps {
  /** Each run without its stdout (parsed into `rulesets`). */
  outputs: Array<{out: RawOutput; family: IpFamily; backend: XtBackend}>
  rulesets: XtRuleset[]
  warnings: Warning[]
  /** Problems of rules built only when read (`lazy`): attach the node's warnings once they exist. */
  late: LateWarnings
}

/**
 * How much of each rule to build: every rule (`full`: snapshot, diff); only those that mention a mark, the others
 * counted and their jumps kept (`marks`); every rule, but each chain only when first read (`lazy`: trace, whose
 * walk reads a few chains of thousands).
 */
export type XtRulesWanted = 'full' | 'marks' | 'lazy'

/**
 * Read the four dumps in parallel, each parsed as it is printed (iptables-save on the nft backend spends most of
 * its time fetching before it prints; its 16 MB at 110k rules then arrive in ~0.3 s and are parsed as they come):
 * as much of each rule as XtRulesWanted says. The tools start before the grammar's modules are loaded (what they print meanwhile waits for
 * it). A node without the legacy tools simply has no legacy tables; any other failure is a warning and the rest
 * still comes.
 */
export async function readXtDumps(src: Source, opts: {rules: XtRulesWanted}): Promise<XtDumps> {
  const grammar = import('../probes/iptables-save.js')
  const late = new LateWarnings()
  const parserOptions = (family: IpFamily, backend: XtBackend): IptablesSaveOptions => {
    if (opts.rules === 'marks') return {family, backend, onlyMarkRules: true}
    if (opts.rules === 'lazy') return {family, backend, lazy: {lateProblem: (p) => late.problem(p)}}
    return {family, backend}
  }
  const runs = DUMPS.map(({family, backend}) => {
    let parser: IptablesSaveParser | undefined
    const early: string[] = []
    grammar
      .then(({IptablesSaveParser}) => {
        parser = new IptablesSaveParser(parserOptions(family, backend))
        for (const c of early) parser.push(c)
        early.length = 0
      })
      .catch(() => {}) // awaited below, where a failure to load is thrown
    // iptables-nft-save, where it is to be asked, is asked as soon as this dump ends, not after the longest one.
    return streamIptablesSave(src, family, backend, (chunk) => (parser ? parser.push(chunk) : early.push(chunk))).then(async (out) => ({
      out,
      family,
      backend,
      parser: () => parser!,
      asked: backend === 'nft' && judgeIptablesSave(out).verdict === 'ask-nft-save' ? await collectIptablesNftSave(src, family) : undefined,
    }))
  })
  const done = await Promise.all(runs)
  const {IptablesSaveParser} = await grammar
  const rulesets: XtRuleset[] = []
  const warnings: Warning[] = []
  // iptables-save speaks for the nft side only when its header says it read nf_tables; otherwise (a legacy
  // header, nothing printed, not installed) iptables-nft-save is asked too (iptables-backend.ts says why).
  const nftSide = await Promise.all(
    done.map(async (d) => {
      if (d.backend !== 'nft') return d
      const {use, note} = pickNftSideDump(d.out, d.asked)
      if (note !== undefined) warnings.push({probe: d.out.argv.join(' '), kind: 'unsupported', message: note})
      if (use === undefined) return undefined
      if (use === d.out) return d
      // iptables-nft-save's dump, parsed whole (it is asked only where iptables-save did not read nf_tables).
      const parser = new IptablesSaveParser(parserOptions(d.family, 'nft'))
      parser.push(use.stdout)
      return {out: use, family: d.family, backend: d.backend, parser: () => parser}
    }),
  )
  const used = nftSide.filter((d): d is (typeof done)[number] => d !== undefined)
  for (const {out, backend, parser} of used) {
    if (out.failure === 'missing-binary' && backend === 'legacy') continue
    const v = take(out.argv.join(' '), out, (o) => parser().end(o.stderr), undefined as XtRuleset | undefined, warnings)
    if (v !== undefined) rulesets.push(v)
  }
  // The text is parsed: what is kept of each run is whether it failed (a recording keeps its own copy of the whole
  // output), so the 16 MB of a 110k-rule dump are not held twice, as text and as the rules' raw lines.
  return {outputs: used.map(({out, family, backend}) => ({out: {...out, stdout: ''}, family, backend})), rulesets, warnings, late}
}
