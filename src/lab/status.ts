/** `lab status`: the state file, checked against what exists now. Needs no privileges. */
import {existsSync} from 'node:fs'
import {netnsFile} from './exec.js'
import {liveLabLockHolder} from './lock.js'
import {type AnyLabState, isVariantState, readAnyLabState} from './state.js'
import {existingLabNamespaces, mountsAt, processesInNamespaces} from './teardown.js'
import {labTopology} from './topology.js'

export type LabStatus =
  | {up: false; prefix: string; reason?: string; leftovers?: {namespaces: string[]; bpffsMounted: boolean; stateDir: boolean}}
  | {
      up: true
      prefix: string
      namespaces: {present: string[]; missing: string[]}
      bpffsMounted: boolean
      processes: Array<{pid: number; pod: string; alive: boolean}>
      /** The Cilium lab's state, or a CNI variant's (`variant` says which). */
      state: AnyLabState
    }

export function labStatus(prefix: string): LabStatus {
  const topo = labTopology(prefix)
  const state = readAnyLabState(topo)
  const existing = existingLabNamespaces(prefix)
  const bpffsMounted = mountsAt(topo.bpffs) > 0
  if (!state) {
    const stateDir = existsSync(topo.stateDir)
    const busy = liveLabLockHolder(prefix)
    if (busy) return {up: false, prefix, reason: `\`lab ${busy.what}\` is running (pid ${busy.pid})`}
    if (existing.length === 0 && !bpffsMounted && !stateDir) return {up: false, prefix}
    return {up: false, prefix, reason: `leftovers of an unfinished lab (run: nodeinspect lab down --prefix ${prefix})`, leftovers: {namespaces: existing, bpffsMounted, stateDir}}
  }
  // Only the Cilium lab mounts a bpffs: a CNI variant has no eBPF programs.
  const needsBpffs = !isVariantState(state)
  const present = state.namespaces.filter((n) => existsSync(netnsFile(n)))
  const missing = state.namespaces.filter((n) => !present.includes(n))
  const inside = new Set(processesInNamespaces(present).map((p) => p.pid))
  const processes = state.processes.map((p) => ({pid: p.pid, pod: p.pod, alive: inside.has(p.pid)}))
  if (missing.length > 0 || (needsBpffs && !bpffsMounted)) {
    const what = [missing.length > 0 && `namespaces missing: ${missing.join(', ')}`, needsBpffs && !bpffsMounted && `${topo.bpffs} is not mounted`].filter(Boolean).join('; ')
    return {up: false, prefix, reason: `the lab is broken (${what}); run: nodeinspect lab down --prefix ${prefix}`, leftovers: {namespaces: present, bpffsMounted, stateDir: true}}
  }
  return {up: true, prefix, namespaces: {present, missing}, bpffsMounted, processes, state}
}
