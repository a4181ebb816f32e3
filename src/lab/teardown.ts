/**
 * `lab down`: remove everything a lab with this prefix owns, even after a half-finished `lab up`:
 * 1. kill every process inside a lab netns (a process keeps its netns, devices and programs alive),
 * 2. `ip netns del` every lab namespace (devices, routes, tc/XDP attachments go with them),
 * 3. unmount the lab's bpffs (frees pinned maps, programs and tcx links, which outlive a netns),
 * 4. remove /run/nodeinspect-lab/<prefix>.
 * Nothing here touches the root netns.
 */
import {existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync} from 'node:fs'
import {labRun, labTry, LabError, netnsFile} from './exec.js'
import {acquireLabLock} from './lock.js'
import {readAnyLabState} from './state.js'
import {isLabNetns, LAB_RUN_ROOT, labTopology, type LabTopology} from './topology.js'

export interface LabDownReport {
  prefix: string
  /** A state file existed (the last `lab up` finished). */
  hadState: boolean
  killed: Array<{pid: number; netns: string; comm: string; signal: 'SIGTERM' | 'SIGKILL'}>
  namespaces: string[]
  /** How many mounts of the lab bpffs were unmounted (0 or 1 normally). */
  bpffsUnmounted: number
  stateDirRemoved: boolean
  /** Nothing of this lab existed. */
  nothingToDo: boolean
  durationMs: number
}

/** Lab namespaces that exist now: from /run/netns, exact lab name shapes only. */
export function existingLabNamespaces(prefix: string): string[] {
  let names: string[] = []
  try {
    names = readdirSync('/run/netns')
  } catch {
    return []
  }
  return names.filter((n) => isLabNetns(prefix, n)).sort()
}

/** nsfs inode of a named netns, or undefined (not a netns bind mount). nsfs inodes start at 0xF0000000. */
function netnsInode(netns: string): number | undefined {
  try {
    const st = statSync(netnsFile(netns))
    return st.ino >= 0xf0000000 ? st.ino : undefined
  } catch {
    return undefined
  }
}

export interface NetnsProcess {
  pid: number
  netns: string
  comm: string
}

/** Every other process's pid, from /proc. */
function otherPids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== process.pid)
}

/** Processes whose network namespace is one of these named namespaces (matched by nsfs inode). */
export function processesInNamespaces(namespaces: readonly string[]): NetnsProcess[] {
  const byInode = new Map<string, string>()
  for (const ns of namespaces) {
    const ino = netnsInode(ns)
    if (ino !== undefined) byInode.set(`net:[${ino}]`, ns)
  }
  if (byInode.size === 0) return []
  const out: NetnsProcess[] = []
  for (const pid of otherPids()) {
    let link: string
    try {
      link = readlinkSync(`/proc/${pid}/ns/net`)
    } catch {
      continue
    }
    const ns = byInode.get(link)
    if (ns === undefined) continue
    let comm = ''
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
    } catch {
      /* exited */
    }
    out.push({pid, netns: ns, comm})
  }
  return out
}

/**
 * Every process the lab starts carries LAB_OWNER_ENV=<prefix> in its environment (lab up sets it in its own for
 * the length of the run, so every child and grandchild inherits it). /proc/PID/environ is the environment as exec'd, so a process is found even when
 * its namespace has lost its name (a listener started into a netns that a racing teardown then deleted keeps
 * that netns alive, anonymous, out of reach of a scan by namespace).
 */
export const LAB_OWNER_ENV = 'NODEINSPECT_LAB_OWNER'

/** @internal tested directly (a test seam) */
export function processesOwnedByLab(prefix: string): NetnsProcess[] {
  const marker = Buffer.from(`${LAB_OWNER_ENV}=${prefix}\0`)
  const out: NetnsProcess[] = []
  for (const pid of otherPids()) {
    let env: Buffer
    try {
      env = readFileSync(`/proc/${pid}/environ`)
    } catch {
      continue
    }
    // Entries are NUL-terminated: match a whole entry, so prefix "nilab" never matches "nilab-t1".
    const at = env.indexOf(marker)
    if (at < 0 || (at > 0 && env[at - 1] !== 0)) continue
    let comm = ''
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
    } catch {
      /* exited */
    }
    let netns = '(unnamed)'
    try {
      netns = readlinkSync(`/proc/${pid}/ns/net`)
    } catch {
      /* exited */
    }
    out.push({pid, netns, comm})
  }
  return out
}

/** Running, as far as a netns is concerned: a zombie (Z) has already left its namespaces. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function killAll(procs: NetnsProcess[]): Promise<LabDownReport['killed']> {
  const killed: LabDownReport['killed'] = []
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGTERM')
      killed.push({...p, signal: 'SIGTERM'})
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 1500
  while (killed.some((k) => alive(k.pid)) && Date.now() < deadline) await sleep(25)
  for (const k of killed) {
    if (!alive(k.pid)) continue
    try {
      process.kill(k.pid, 'SIGKILL')
      k.signal = 'SIGKILL'
    } catch {
      /* gone */
    }
  }
  return killed
}

/** Mount points at exactly this path (mountinfo field 5, octal escapes decoded), innermost last. */
export function mountsAt(path: string): number {
  let text = ''
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return 0
  }
  const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
  return text.split('\n').filter((l) => l && unescapeOctal(l.split(' ')[4] ?? '') === path).length
}

/** `lab down` under the lab's lock: refuses while a `lab up` of the same prefix runs. */
export async function labDown(prefix: string): Promise<LabDownReport> {
  const release = acquireLabLock(prefix, 'down')
  try {
    return await labDownLocked(prefix)
  } finally {
    release()
  }
}

/** The teardown itself; the caller holds the lab's lock (`lab up` tears down leftovers under its own). */
export async function labDownLocked(prefix: string): Promise<LabDownReport> {
  const started = performance.now()
  const topo: LabTopology = labTopology(prefix)
  const state = readAnyLabState(topo)

  // 1. processes: anything inside a lab netns, plus recorded pids whose netns is already gone.
  const namespaces = [...new Set([...existingLabNamespaces(prefix), ...(state?.namespaces ?? []).filter((n) => isLabNetns(prefix, n) && existsSync(netnsFile(n)))])].sort()
  const procs = processesInNamespaces(namespaces)
  for (const p of state?.processes ?? []) {
    if (procs.some((x) => x.pid === p.pid)) continue
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8')
    } catch {
      continue
    }
    // Only our own listener (its command line names the lab script), never a recycled pid.
    if (cmdline.includes('httpd.mjs') && cmdline.includes('serve')) procs.push({pid: p.pid, netns: p.netns, comm: 'node'})
  }
  // Plus what the lab started wherever it ended up, named netns or not.
  for (const p of processesOwnedByLab(prefix)) if (!procs.some((x) => x.pid === p.pid)) procs.push(p)
  const killed = await killAll(procs)

  // 2. namespaces. -force: keep going if one is already gone.
  if (namespaces.length > 0) {
    const input = namespaces.map((n) => `netns del ${n}`).join('\n') + '\n'
    const out = await labTry(['ip', '-force', '-batch', '-'], {input})
    const left = namespaces.filter((n) => existsSync(netnsFile(n)))
    if (out.failure && left.length > 0) throw new LabError('down', `down: could not delete namespaces ${left.join(', ')}: ${out.message ?? ''}`)
  }

  // 3. the lab's bpffs (pinned maps, programs, tcx links).
  let bpffsUnmounted = 0
  for (let i = 0; i < 8 && mountsAt(topo.bpffs) > 0; i++) {
    await labRun('down', ['umount', topo.bpffs])
    bpffsUnmounted++
  }
  if (mountsAt(topo.bpffs) > 0) throw new LabError('down', `down: ${topo.bpffs} is still mounted`)

  // 4. the state dir (only once nothing is mounted below it).
  let stateDirRemoved = false
  if (existsSync(topo.stateDir)) {
    rmSync(topo.stateDir, {recursive: true, force: true})
    stateDirRemoved = true
  }
  try {
    if (readdirSync(LAB_RUN_ROOT).length === 0) rmdirSync(LAB_RUN_ROOT)
  } catch {
    /* absent or in use by another prefix */
  }

  return {
    prefix,
    hadState: state !== undefined,
    killed,
    namespaces,
    bpffsUnmounted,
    stateDirRemoved,
    nothingToDo: killed.length === 0 && namespaces.length === 0 && bpffsUnmounted === 0 && !stateDirRemoved,
    durationMs: Math.round(performance.now() - started),
  }
}
