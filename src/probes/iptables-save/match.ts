import type {XtModuleMatch, XtOption} from '../../model/netfilter.js'
import {ExtensionOptions, type Bad} from './extension.js'
import {matchParser} from './matches/registry.js'

/** One `-m NAME` (or the module `-p tcp` loads implicitly) with its options, typed where its registry entry reads it. */
export function buildMatch(module: string, implicit: boolean, options: XtOption[], bad: Bad): XtModuleMatch {
  const parser = matchParser(module)
  let m: XtModuleMatch
  if (!parser) m = {module, kind: 'other', options}
  else {
    const x = new ExtensionOptions(options, `-m ${module}`, bad)
    m = parser.parse(module, x)
    if (m.uninterpreted === undefined) m = x.finish(m)
  }
  if (implicit) m.implicit = true
  return m
}
