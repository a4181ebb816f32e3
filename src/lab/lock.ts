/**
 * One `lab up` or `lab down` at a time per prefix. Two concurrent `lab up` runs tear down each other's
 * namespaces mid-build and leak listeners into namespaces nobody names any more; a lock file makes the second
 * one refuse in one line instead.
 *
 * The file holds the owner's pid and its start time (field 22 of /proc/PID/stat, in clock ticks since boot), so a
 * lock left by a killed run (SIGKILL skips every cleanup) is recognised as stale even when the pid was reused.
 */
import {existsSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {UserError} from '../errors.js'

export interface LabLockHolder {
  pid: number
  /** Start time of the process, clock ticks since boot (proc(5), /proc/PID/stat field 22). */
  startTime: number
  what: string
}

/**
 * /run/lock when the system has it (FHS), else /run: never inside the lab's state dir, which `lab down` removes.
 * @internal tested directly (a test seam)
 */
export function labLockPath(prefix: string): string {
  return `${existsSync('/run/lock') ? '/run/lock' : '/run'}/nodeinspect-lab.${prefix}.lock`
}

/**
 * Start time of a live, non-zombie process, or undefined when it is gone.
 * @internal tested directly (a test seam)
 */
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

/** @internal tested directly (a test seam) */
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
 *
 * The lock appears whole: its content is written to a file of our own first and then hard-linked to the lock's
 * name (link(2) fails with EEXIST when the name exists), so no run ever reads a lock that is still empty and
 * takes it for a stale one. A stale lock is renamed away before it is removed (rename(2) is atomic): of two runs
 * taking it over, one moves it; if what a run moved turns out to be a live lock (the other run's), it is linked
 * back and the run refuses.
 */
export function acquireLabLock(prefix: string, what: string): () => void {
  const path = labLockPath(prefix)
  const me = `${process.pid} ${processStartTime(process.pid) ?? 0} ${what}\n`
  const busy = (h: LabLockHolder) => new UserError(`lab ${what}: another \`lab ${h.what}\` of lab ${prefix} is running (pid ${h.pid}); wait for it to finish`)
  const mine = `${path}.${process.pid}.tmp`
  writeFileSync(mine, me, {mode: 0o644})
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(mine, path)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`lab ${what}: cannot take the lock ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
        const holder = liveLabLockHolder(prefix)
        if (holder) throw busy(holder)
        takeOverStale(path, busy)
        continue
      }
      return () => {
        try {
          if (readFileSync(path, 'utf8') === me) unlinkSync(path)
        } catch {
          /* already gone */
        }
      }
    }
  } finally {
    try {
      unlinkSync(mine)
    } catch {
      /* gone */
    }
  }
  throw new UserError(`lab ${what}: could not take the lock ${path}`)
}

function takeOverStale(path: string, busy: (h: LabLockHolder) => UserError): void {
  const grave = `${path}.${process.pid}.stale`
  try {
    renameSync(path, grave)
  } catch {
    return // another run moved it first: try again
  }
  let holder: LabLockHolder | undefined
  try {
    holder = parseLabLock(readFileSync(grave, 'utf8'))
  } catch {
    holder = undefined
  }
  if (holder && processStartTime(holder.pid) === holder.startTime) {
    // A live lock another run had just taken: put it back (never over a newer one) and refuse.
    try {
      linkSync(grave, path)
    } catch {
      /* a newer lock is there */
    }
    unlinkSync(grave)
    throw busy(holder)
  }
  unlinkSync(grave)
}
