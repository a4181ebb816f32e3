// Throwaway network namespaces for the live probe tests (marks, iptables, nft, ip rule, xfrm, ss).
// Every command runs inside the namespace through `nsenter --net=…`: nothing here touches the host's own rules.
import {spawn, spawnSync} from 'node:child_process'
import {readlinkSync} from 'node:fs'
import {runCommand} from '../../src/source/run-command.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'
import type {SourceMeta} from '../../src/model/node-meta.js'

/** Why live tests cannot run here, or undefined when they can (root, and every tool present). */
export function liveSkipReason(tools: readonly string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'live netns tests need root (CAP_NET_ADMIN); skipped'
  for (const t of ['ip', 'nsenter', ...tools]) {
    const r = spawnSync('sh', ['-c', `command -v ${t}`], {encoding: 'utf8'})
    if (r.status !== 0) return `live netns tests need ${t}, which is not installed; skipped`
  }
  return undefined
}

export interface TestNetns {
  name: string
  /** What nsenter enters: the holder process's /proc/PID/ns/net (see createTestNetns). */
  path: string
  /** A Source that runs every probe inside this namespace. */
  source: Source
  /** Run a setup command inside the namespace; throws with its stderr on failure. */
  sh(argv: readonly string[], input?: string): Promise<RawOutput>
  close(): Promise<void>
}

/**
 * `ip netns add ni-t<pid>-<suffix>`, then a `sleep` holder process inside it. Commands enter the namespace by the
 * holder's /proc/PID/ns/net rather than /run/netns/NAME: test/global-setup.ts of any vitest run in this checkout
 * deletes every ni-t<digits>… name, and other sessions run tests in parallel, so the name can vanish mid-test;
 * the holder keeps the namespace itself alive until close().
 */
export async function createTestNetns(suffix: string): Promise<TestNetns> {
  const name = `ni-t${process.pid}-${suffix}`
  const add = spawnSync('ip', ['netns', 'add', name], {encoding: 'utf8'})
  if (add.status !== 0) throw new Error(`ip netns add ${name}: ${add.stderr.trim()}`)
  const holder = spawn('nsenter', [`--net=/run/netns/${name}`, '--', 'sleep', '3600'], {stdio: 'ignore'})
  const pid = holder.pid
  if (pid === undefined) throw new Error(`could not start a holder process in ${name}`)
  // nsenter execs sleep in the same pid once it has entered the namespace: wait until that is visible.
  const ownNs = readlinkSafe('/proc/self/ns/net')
  for (let i = 0; i < 100; i++) {
    const cur = readlinkSafe(`/proc/${pid}/ns/net`)
    if (cur && cur !== ownNs && readlinkSafe(`/proc/${pid}/exe`)?.endsWith('sleep')) break
    await new Promise((r) => setTimeout(r, 20))
  }
  const path = `/proc/${pid}/ns/net`
  const meta: SourceMeta = {kind: 'live', netns: name}
  const run = (req: RunRequest): Promise<RawOutput> =>
    runCommand({file: 'nsenter', args: [`--net=${path}`, '--', ...req.argv], logicalArgv: req.argv, input: req.input, timeoutMs: req.timeoutMs ?? 60_000, okExitCodes: req.okExitCodes})
  const source: Source = {meta, run}
  return {
    name,
    path,
    source,
    async sh(argv, input) {
      const out = await run({argv, input})
      if (out.failure) throw new Error(`${argv.join(' ')} in ${name}: ${out.message ?? ''}\n${out.stderr}`)
      return out
    },
    async close() {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {
        /* already gone */
      }
      spawnSync('ip', ['netns', 'del', name], {encoding: 'utf8'})
    },
  }
}

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p)
  } catch {
    return undefined
  }
}
