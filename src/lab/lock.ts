/**
 * One `lab up` or `lab down` at a time per prefix. Two concurrent `lab up` runs tear down each other's
 * namespaces mid-build and leak listeners into namespaces nobody names any more; a lock file makes the second
 * one refuse in one line instead.
 *
 * The file holds the owner's pid and its start time (field 22 of /proc/PID/stat, in clock ticks since boot), so a
 * lock left by a killed run (SIGKILL skips every cleanup) is recognised as stale even when the pid was reused.
 */
import {closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync} from 'node:fs'
import {UserError} from '../errors.js'

export interface LabLockHolder {
  pid: number
  /** Start time of the process, clock ticks since boot (proc(5), /proc/PID/stat field 22). */
  startTime: number
  what: string
}

/** /run/lock when the system has it (FHS), else /run: never inside the lab's state dir, which `lab down` removes. */
export function labLockPath(prefix: string): string {
  return `${existsSync('/run/lock') ? '/run/lock' : '/run'}/nodeinspect-lab.${prefix}.lock`
}

/** Start time of a live, non-zombie process, or undefined when it is gone. */
export function processStartTime(pid: number): number | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it start after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined
  const start = Number(rest[19]) // field 22 = index 19 after state (field 3)
  return Number.isFinite(start) ? start : undefined
}

export function parseLabLock(text: string): LabLockHolder | undefined {
  const m = /^(\d+) (\d+) (\S+)\n?$/.exec(text)
  return m ? {pid: Number(m[1]), startTime: Number(m[2]), what: m[3]!} : undefined
}

/** The holder of the lock when it is alive; undefined when there is no lock or its owner is gone. */
export function liveLabLockHolder(prefix: string): LabLockHolder | undefined {
  let text: string
  try {
    text = readFileSync(labLockPath(prefix), 'utf8')
  } catch {
    return undefined
  }
  const holder = parseLabLock(text)
  if (!holder) return undefined
  return processStartTime(holder.pid) === holder.startTime ? holder : undefined
}

/**
 * Take the lock for `what` (up, down) or throw a UserError naming the run that holds it. Returns the release
 * function. A stale lock (owner gone) is taken over.
 */
export function acquireLabLock(prefix: string, what: string): () => void {
  const path = labLockPath(prefix)
  const me = `${process.pid} ${processStartTime(process.pid) ?? 0} ${what}\n`
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number
    try {
      fd = openSync(path, 'wx', 0o644)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`lab ${what}: cannot take the lock ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
      const holder = liveLabLockHolder(prefix)
      if (holder) throw new UserError(`lab ${what}: another \`lab ${holder.what}\` of lab ${prefix} is running (pid ${holder.pid}); wait for it to finish`)
      // Stale: its owner is gone. Remove it and try again (a racing taker loses at openSync 'wx').
      try {
        unlinkSync(path)
      } catch {
        /* another run removed it first */
      }
      continue
    }
    try {
      writeSync(fd, me)
    } finally {
      closeSync(fd)
    }
    return () => {
      try {
        if (readFileSync(path, 'utf8') === me) unlinkSync(path)
      } catch {
        /* already gone */
      }
    }
  }
  throw new UserError(`lab ${what}: could not take the lock ${path}`)
}
