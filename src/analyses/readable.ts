import type {HooksReadable, SourceRead} from '../model/node-state.js'

/**
 * Why a command has nothing to answer with: every one of its sources failed (the reasons, joined), or undefined
 * when at least one was read. An answer built from nothing would read as "nothing there" (issue 7).
 */
export function nothingRead(sources: readonly SourceRead[]): string | undefined {
  if (sources.length === 0 || sources.some((s) => s.failure === undefined)) return undefined
  return summariseFailures(sources.map((s) => s.failure!))
}

/**
 * Failure messages (`COMMAND: CAUSE`) grouped by cause, in first-seen order, so that one missing nsenter reads
 * as one cause: `ip -j -4 rule show, ss -H …: nsenter is not installed (…)`.
 */
export function summariseFailures(messages: readonly string[]): string {
  const byCause = new Map<string, string[]>()
  for (const m of messages) {
    const at = m.indexOf(': ')
    const [cmd, cause] = at < 0 ? ['', m] : [m.slice(0, at), m.slice(at + 2)]
    const cmds = byCause.get(cause) ?? []
    if (cmd !== '' && !cmds.includes(cmd)) cmds.push(cmd)
    byCause.set(cause, cmds)
  }
  return [...byCause].map(([cause, cmds]) => (cmds.length ? `${cmds.join(', ')}: ${cause}` : cause)).join('; ')
}

/**
 * `trace` places every address on a device of a node: a node whose devices and addresses ip could not list (the
 * devices other probes name carry no address) gives no step that means anything. Why, or undefined.
 */
export function traceNodeUnread(label: string, r: HooksReadable): string | undefined {
  if (r.deviceList === 'ip') return undefined
  return `node ${label}: no device list could be read (${r.deviceListFailure ?? 'ip gave no device'}), so no address can be placed on the path`
}
