import type {HookView, HooksReport} from '../hooks.js'
import {multisetDiff} from './multiset.js'

/** A program as the diff names it: its identity is its tag (the hash of its instructions), never its id. */
export interface DiffProgram {
  id: number
  name?: string
  tag?: string
  /** `bpf_lxc.o:[from-container]` (tc), the attach name where the hook has one. */
  attachName?: string
  /** What nodeinspect recognises it as (`Cilium from-netdev`). */
  recognised?: string
}

export interface HookChange {
  device: string
  /** `xdp`, `tc-ingress`, `tcx-egress`… (as in nodeinspect.hooks/v1). */
  hook: string
  /** replaced: on the same hook, a program of another tag took the place of one that went. */
  change: 'attached' | 'detached' | 'replaced'
  before?: DiffProgram
  after?: DiffProgram
}

function programOf(h: HookView): DiffProgram {
  const p: DiffProgram = {id: h.progId}
  const name = h.program?.name
  if (name !== undefined) p.name = name
  if (h.program?.tag !== undefined) p.tag = h.program.tag
  if (h.attachName !== undefined) p.attachName = h.attachName
  if (h.recognised !== undefined) p.recognised = `${h.recognised.software} ${h.recognised.role}`
  return p
}

/** The same program on both sides: the same tag; without a tag (bpftool could not name it), the same name and attach name. */
const identity = (p: DiffProgram): string => (p.tag !== undefined ? `tag ${p.tag}` : `name ${p.name ?? '?'} ${p.attachName ?? ''}`)

function byHook(r: HooksReport): Map<string, {device: string; hook: string; programs: DiffProgram[]}> {
  const m = new Map<string, {device: string; hook: string; programs: DiffProgram[]}>()
  for (const d of r.devices) {
    for (const h of d.hooks) {
      const k = `${d.name}\u0000${h.hook}`
      let e = m.get(k)
      if (!e) m.set(k, (e = {device: d.name, hook: h.hook, programs: []}))
      e.programs.push(programOf(h))
    }
  }
  return m
}

/**
 * Programs attached, detached or replaced on each hook of each device (by device name: ifindexes and program ids
 * change when a pod or a program is recreated). On a hook that both lost and gained programs, they pair up in
 * run order as replacements; the rest are attached or detached.
 */
export function diffHooks(a: HooksReport, b: HooksReport): HookChange[] {
  const before = byHook(a)
  const after = byHook(b)
  const out: HookChange[] = []
  for (const k of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const x = before.get(k)
    const y = after.get(k)
    const {device, hook} = (x ?? y)!
    const {removed, added} = multisetDiff(x?.programs ?? [], y?.programs ?? [], identity)
    const pairs = Math.min(removed.length, added.length)
    for (let i = 0; i < pairs; i++) out.push({device, hook, change: 'replaced', before: removed[i]!, after: added[i]!})
    for (const p of removed.slice(pairs)) out.push({device, hook, change: 'detached', before: p})
    for (const p of added.slice(pairs)) out.push({device, hook, change: 'attached', after: p})
  }
  return out
}
