import {readFileSync, statfsSync} from 'node:fs'
import type {RawOutput, Source} from '../source/types.js'
import {parseJson, problem} from './parsed.js'
import type {Parsed} from '../model/warning.js'

/**
 * Before the fallback reads pods' namespaces one `ip -n NAME` at a time (the helper is not built): may this process
 * enter a network namespace at all (setns(2) needs CAP_SYS_ADMIN), and which /run/netns entries are live namespaces
 * (an nsfs bind mount, f_type NSFS_MAGIC 0x6e736673) rather than stale files left by a namespace that is gone.
 * Answered in-process and recorded in snapshots like a tool's output.
 */
export const netnsCheckArgv = (names: readonly string[]): string[] => ['nodeinspect-internal', 'netns-check', ...names]
const PROBE = 'netns check (/run/netns)'

export const collectNetnsCheck = (src: Source, names: readonly string[]): Promise<RawOutput> => src.run({argv: netnsCheckArgv(names)})

/** include/uapi/linux/magic.h */
const NSFS_MAGIC = 0x6e736673
/** include/uapi/linux/capability.h */
const CAP_SYS_ADMIN = 21

/** In-process implementation behind netnsCheckArgv (used by LiveSource only). */
export function runNetnsCheck(names: readonly string[]): {stdout: string; stderr: string; exitCode: number} {
  let capSysAdmin: boolean | undefined
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) capSysAdmin = ((BigInt(`0x${m[1]}`) >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n
  } catch {
    /* no /proc: unknown */
  }
  const netns = names.map((name) => {
    try {
      return {netns: name, nsfs: statfsSync(`/run/netns/${name}`).type === NSFS_MAGIC}
    } catch (e) {
      return {netns: name, nsfs: false, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message}
    }
  })
  return {stdout: `${JSON.stringify({cap_sys_admin: capSysAdmin ?? null, netns})}\n`, stderr: '', exitCode: 0}
}

export interface NetnsCheckFacts {
  /** CAP_SYS_ADMIN in the effective set; absent: unknown. */
  capSysAdmin?: boolean
  /** Names that are live namespaces. */
  live: string[]
  /** Names that are not (stale file, missing), with why. */
  notLive: Array<{netns: string; why: string}>
}

/** e.g. `{"cap_sys_admin":true,"netns":[{"netns":"cni-1","nsfs":true},{"netns":"gone","nsfs":false}]}` */
export function parseNetnsCheck(text: string): Parsed<NetnsCheckFacts> {
  const facts: NetnsCheckFacts = {live: [], notLive: []}
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts, problems: [p]}
  const d = (value ?? {}) as Record<string, unknown>
  if (!Array.isArray(d.netns)) return {facts, problems: [problem(PROBE, 'expected {"netns":[…]}')]}
  if (typeof d.cap_sys_admin === 'boolean') facts.capSysAdmin = d.cap_sys_admin
  const problems = []
  for (const v of d.netns) {
    const e = (v ?? {}) as Record<string, unknown>
    if (typeof e.netns !== 'string') {
      problems.push(problem(PROBE, 'entry lacks netns', undefined, JSON.stringify(v)))
      continue
    }
    if (e.nsfs === true) facts.live.push(e.netns)
    else facts.notLive.push({netns: e.netns, why: typeof e.error === 'string' ? e.error : 'not a namespace (stale /run/netns entry)'})
  }
  return {facts, problems}
}
