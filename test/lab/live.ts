// Shared by the live lab tests: why they would skip, and sweeping what a crashed earlier run left behind.
import {existsSync, readdirSync} from 'node:fs'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import {labDown} from '../../src/lab/teardown.js'
import {LAB_RUN_ROOT} from '../../src/lab/topology.js'
import {bpfHelperPath} from '../../src/source/live.js'

/**
 * Per-test timeout of the live lab tests: a guard against a hang, not a speed bound. One CLI run against the lab
 * takes a few seconds on an idle 2-core machine and went past 60 s on a loaded one (load average 17), and a test
 * makes up to two of them plus probes; vitest's default here (30 s) made those tests fail on a slow machine.
 */
export const LIVE_LAB_TEST_TIMEOUT = 600_000

/** Empty when the live lab can run here; else one line saying why not. */
export function liveLabSkipReason(extraTools: readonly string[] = []): string {
  const pre = checkLabPrerequisites()
  const tools = checkLabPrerequisites(extraTools)
  return [pre.reason, tools.missingTools.length ? `missing tools: ${tools.missingTools.join(', ')}` : '', existsSync(bpfHelperPath()) ? '' : `no helper binary at ${bpfHelperPath()} (run: make -C native)`]
    .filter(Boolean)
    .join('; ')
}

/** Labs `nilab-t<pid><suffix>` of test runs whose process is gone (their namespaces or state directories). */
export async function sweepStaleLabs(suffix: string): Promise<void> {
  const re = new RegExp(`^(nilab-t(\\d+)${suffix})(?:-|$)`)
  const prefixes = new Set<string>()
  const names = [...(existsSync('/run/netns') ? readdirSync('/run/netns') : []), ...(existsSync(LAB_RUN_ROOT) ? readdirSync(LAB_RUN_ROOT) : [])]
  for (const n of names) {
    const m = re.exec(n)
    if (m && !existsSync(`/proc/${m[2]}`)) prefixes.add(m[1]!)
  }
  for (const p of prefixes) await labDown(p)
}
