import type {XtOption, XtTarget} from '../../model/netfilter.js'
import {ExtensionOptions, type Bad} from './extension.js'
import {KNOWN_TARGETS, targetParser} from './targets/registry.js'

/**
 * What `-j NAME` / `-g NAME` with its options means: a chain of the table, a target extension (typed where
 * its registry entry reads it), or a jump to a missing chain (reported when the table ends).
 */
/** The chains of the table being read (TableBuilder). */
export interface ChainNames {
  has(name: string): boolean
}

export function buildTarget(name: string, isGoto: boolean, options: XtOption[], chains: ChainNames, bad: Bad): XtTarget {
  if (isGoto) {
    if (options.length > 0) bad(`-g ${name} takes no options`)
    return {name, kind: 'goto', chain: name}
  }
  // A declared chain wins: iptables refuses to create a chain named like a target.
  if (chains.has(name) && !KNOWN_TARGETS.has(name)) {
    if (options.length > 0) bad(`-j ${name} (a chain) takes no options`)
    return {name, kind: 'jump', chain: name}
  }
  const parser = targetParser(name)
  if (parser) {
    const x = new ExtensionOptions(options, `-j ${name}`, bad)
    const t = parser.parse(name, x)
    return t.uninterpreted === undefined ? x.finish(t) : t
  }
  if (KNOWN_TARGETS.has(name) || /^[A-Z0-9_]+$/.test(name)) return options.length > 0 ? {name, kind: 'other', options} : {name, kind: 'other'}
  // Neither a declared chain nor a target extension: a jump to a missing chain (reported when the table ends).
  if (options.length > 0) bad(`-j ${name}: unknown target with options`)
  return {name, kind: 'jump', chain: name}
}
