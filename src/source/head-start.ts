/**
 * Runs started before the CLI framework loads. `marks` and `trace` wait on iptables-save more than on anything
 * else (~1 s at 110k rules on the nft backend), and oclif with the command's modules takes ~0.15 s to load
 * before a command could start it: the process entry (src/entry/start.ts) starts the dumps first
 * (startHeadStart, with what state/head-start-plan.ts says), and the command's LiveSource takes each over when
 * it asks for the very same command (runCommand → claimHeadStart), with what it printed meanwhile. A run nobody
 * claims (a usage error, --help) is killed when the CLI ends (cancelHeadStart).
 */
import {killGroup, StartedTool, type SpawnSpec} from './run-command.js'
import {spawnServer} from './spawn-server.js'

const started = new Map<string, StartedTool>()

const keyOf = (spec: Pick<SpawnSpec, 'file' | 'args' | 'input'>): string => [spec.file, ...spec.args, spec.input ?? ''].join('\0')

/** Start these runs now, for a LiveSource to take over (spawnSpec's shape); returns how many started. */
export function startHeadStart(specs: ReadonlyArray<{file: string; args: string[]}>): number {
  for (const spec of specs) started.set(keyOf(spec), new StartedTool(spec))
  // The command's other tools go through the spawn server: started now, while this process is small and idle.
  if (specs.length > 0) spawnServer()
  return specs.length
}

/** The run started ahead for exactly this command, taken (once); undefined when there is none. */
export function claimHeadStart(spec: Pick<SpawnSpec, 'file' | 'args' | 'input'>): StartedTool | undefined {
  if (started.size === 0) return undefined
  const key = keyOf(spec)
  const t = started.get(key)
  if (t) started.delete(key)
  return t
}

/** Kill the runs nobody claimed, so the CLI exits now rather than when they end. */
export function cancelHeadStart(): void {
  for (const t of started.values()) {
    if (t.pid !== undefined && !t.closed) killGroup(t.pid, 'SIGKILL')
    t.abandon()
  }
  started.clear()
}
