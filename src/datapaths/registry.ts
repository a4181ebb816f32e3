import {cilium} from './cilium/plugin.js'
import type {DatapathFacts} from '../model/node-state.js'
import type {DatapathPlugin, ProgramAtHook} from './plugin.js'

/** Every datapath the walker knows: adding a CNI is its folder and one line here. */
export const DATAPATHS: readonly DatapathPlugin[] = [cilium]

/** The plugin that models a program, if any. */
export function datapathOf(p: ProgramAtHook, plugins: readonly DatapathPlugin[] = DATAPATHS): DatapathPlugin | undefined {
  return plugins.find((d) => d.recognises(p))
}

/** A plugin's facts of a node: what was read, else its empty facts. */
export function factsOf<F>(plugin: DatapathPlugin<F>, facts: DatapathFacts): F {
  return (facts[plugin.name] as F | undefined) ?? plugin.emptyFacts()
}
