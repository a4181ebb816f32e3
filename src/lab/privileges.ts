/** What the lab (and its tests) need from this machine; never throws, never spawns. */
import {accessSync, constants, readFileSync} from 'node:fs'
import {delimiter, join} from 'node:path'

const CAP = {NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39} as const

/** Tools `lab up` runs. */
const LAB_TOOLS = ['ip', 'tc', 'bridge', 'bpftool', 'clang', 'nsenter', 'sysctl', 'mount', 'umount', 'iptables-restore', 'iptables-save'] as const

function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    return m?.[1] ? BigInt(`0x${m[1]}`) : 0n
  } catch {
    return 0n
  }
}

function hasCap(bit: number, caps: bigint = effectiveCaps()): boolean {
  return ((caps >> BigInt(bit)) & 1n) === 1n
}

/** The absolute path of an executable found in $PATH (plus the sbin directories root usually has). */
function findInPath(tool: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    if (!dir) continue
    const p = join(dir, tool)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      /* next */
    }
  }
  return undefined
}

export interface LabPrerequisites {
  ok: boolean
  /** One line: why not (empty when ok). */
  reason: string
  root: boolean
  netAdmin: boolean
  sysAdmin: boolean
  bpf: boolean
  missingTools: string[]
}

export function checkLabPrerequisites(tools: readonly string[] = LAB_TOOLS): LabPrerequisites {
  const caps = effectiveCaps()
  const root = process.getuid?.() === 0
  const netAdmin = hasCap(CAP.NET_ADMIN, caps)
  const sysAdmin = hasCap(CAP.SYS_ADMIN, caps)
  // Loading programs needs CAP_BPF (+ CAP_NET_ADMIN for networking types), or CAP_SYS_ADMIN.
  const bpf = hasCap(CAP.BPF, caps) || sysAdmin
  const missingTools = tools.filter((t) => findInPath(t) === undefined)
  const reasons: string[] = []
  if (!root) reasons.push('not running as root')
  const missingCaps = [!netAdmin && 'CAP_NET_ADMIN', !sysAdmin && 'CAP_SYS_ADMIN', !bpf && 'CAP_BPF'].filter((x): x is string => typeof x === 'string')
  if (missingCaps.length) reasons.push(`missing ${missingCaps.join(', ')}`)
  if (missingTools.length) reasons.push(`missing tools: ${missingTools.join(', ')}`)
  return {ok: reasons.length === 0, reason: reasons.join('; '), root, netAdmin, sysAdmin, bpf, missingTools}
}
