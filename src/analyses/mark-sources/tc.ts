import {FULL_MASK} from '../../model/mark.js'
import type {TcFilter} from '../../model/hooks.js'
import {markText, type MarkLocation, type MarkUsage} from '../mark-usage.js'
import type {MarkSource} from './source.js'
import {enrich, matchUsage, writeUsage, type UsageIds} from './usage.js'

/**
 * tc filters that match or set marks: the `fw` classifier (its handle is `mark/mask`), u32/flower `mark`
 * keys, and `skbedit mark` actions.
 * @internal tested directly (a test seam)
 */
export function usagesFromTc(filters: readonly TcFilter[], ids: UsageIds): MarkUsage[] {
  const out: MarkUsage[] = []
  for (const f of filters) {
    const where: MarkLocation = {device: f.devname, direction: f.direction, hooks: [`tc ${f.direction} ${f.devname}`], ...(f.pref !== undefined ? {priority: f.pref} : {}), place: `tc ${f.direction} ${f.devname} pref ${f.pref ?? '?'}`, showHooks: true}
    const raw = `filter dev ${f.devname} ${f.direction} pref ${f.pref ?? '?'} ${f.kind} ${JSON.stringify(f.options)}`
    if (f.kind === 'fw' && f.handle) {
      const m = /^(0x[0-9a-f]+|\d+)(?:\/(0x[0-9a-f]+|\d+))?$/i.exec(f.handle)
      if (m) out.push(enrich(matchUsage(ids.next(), 'tc', 'packet', {value: Number(m[1]) >>> 0, mask: m[2] ? Number(m[2]) >>> 0 : FULL_MASK}, false, where, raw, `fw handle ${f.handle}`), {}))
    }
    const mark = (f.options as {mark?: unknown}).mark ?? (f.options as {keys?: {mark?: unknown}}).keys?.mark
    if (typeof mark === 'string' || typeof mark === 'number') {
      const [v, mk] = String(mark).split('/')
      out.push(enrich(matchUsage(ids.next(), 'tc', 'packet', {value: Number(v) >>> 0, mask: mk ? Number(mk) >>> 0 : FULL_MASK}, false, where, raw, `${f.kind} mark ${mark}`), {}))
    }
    for (const a of findActions(f.options)) {
      if (a.kind === 'skbedit' && a.mark !== undefined) {
        const value = Number(a.mark) >>> 0
        const mask = a.mask !== undefined ? Number(a.mask) >>> 0 : FULL_MASK
        out.push(enrich(writeUsage(ids.next(), 'tc', {kind: 'set-mark', target: 'packet', value, mask}, where, raw, 'rule', `skbedit mark ${markText(value, mask)}`), {}))
      }
    }
  }
  return out
}

function findActions(opts: Record<string, unknown>): Array<{kind: string; mark?: unknown; mask?: unknown}> {
  const acts = (opts.actions ?? []) as Array<Record<string, unknown>>
  return Array.isArray(acts) ? acts.map((a) => ({kind: String(a.kind ?? ''), mark: a.mark, mask: a.mask})) : []
}

export const tcSource: MarkSource = {
  id: 'tc',
  reads: ['tcFilters'],
  usages: (facts, ids) => usagesFromTc(facts.tcFilters, ids),
}
