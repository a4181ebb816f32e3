// Processes as /proc shows them, for tests that check what a run left behind.
import {readdirSync, readFileSync} from 'node:fs'

/** /proc/PID/stat fields after the command name: state, ppid, pgrp. */
function procStat(pid: number): {state: string; pgrp: number} | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return {state: f[0]!, pgrp: Number(f[2])}
  } catch {
    return undefined
  }
}

export const alive = (pid: number): boolean => {
  const st = procStat(pid)
  return st !== undefined && st.state !== 'Z'
}

/** Live (non-zombie) processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => procStat(pid)?.pgrp === pgid && alive(pid))
}

