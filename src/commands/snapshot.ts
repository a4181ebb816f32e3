import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {UserError} from '../errors.js'
import type {Warning} from '../model/warning.js'
import {collectToolVersions, parseToolVersions} from '../probes/tool-versions.js'
import {RecordingSource} from '../source/snapshot.js'
import {gzipByName, writeSnapshot} from '../source/snapshot-write.js'
import {buildNodeState} from '../state/build.js'
import {liveSource} from '../state/sources.js'
import {printable} from '../util/printable.js'

interface SnapshotResult {
  file: string
  outputs: number
  failedProbes: number
  warnings: Warning[]
  /** The snapshot was written gzip-compressed. */
  gzip?: boolean
}

export default class Snapshot extends BaseCommand {
  static override summary = 'Record the raw output of every probe into one JSON file, for offline inspection'
  static override description = `Runs every probe nodeinspect uses (read-only) and writes their raw outputs plus hostname, kernel release,
tool versions, time and namespace. Every inspection command then takes --snapshot FILE and gives the answer
it gives live.`
  static override examples = [
    '<%= config.bin %> snapshot -o node1.json',
    '<%= config.bin %> snapshot --netns nilab-node1 -o n1.json.gz',
    '<%= config.bin %> snapshot -o - --gzip > node1.json.gz',
  ]
  static override enableJsonFlag = true
  static override flags = {
    output: Flags.string({char: 'o', description: 'file to write (gzip-compressed when it ends in .gz); - for standard output (the default)'}),
    gzip: Flags.boolean({description: 'gzip-compress the snapshot, also on standard output (a name ending in .gz implies it)', default: false}),
    netns: Flags.string({description: 'record inside this named network namespace'}),
    timeout: Flags.integer({description: 'per-tool timeout in milliseconds, for every tool (default: 60000; slow dumps such as iptables-save get longer)', min: 100}),
  }

  async run(): Promise<SnapshotResult> {
    const {flags} = await this.parse(Snapshot)
    // An empty -o is a script's unset variable (-o "$OUT"), not a request for standard output.
    if (flags.output === '') throw new UserError('invalid -o/--output "": give a file name, or - for standard output')
    const file = flags.output === undefined || flags.output === '-' ? undefined : flags.output
    // Under --json standard output carries the result; the snapshot itself would have nowhere to go.
    if (file === undefined && this.jsonEnabled()) throw new UserError('--json needs -o FILE: standard output carries the JSON result, so the snapshot must go to a file')
    // Compressed bytes on a terminal are noise, and the terminal's state afterwards is anyone's guess.
    if (flags.gzip && file === undefined && process.stdout.isTTY) throw new UserError('--gzip to standard output, which is a terminal: redirect it (> node.json.gz) or give -o FILE.gz')
    const rec = new RecordingSource(liveSource({netns: flags.netns, timeoutMs: flags.timeout, defaultTimeoutMs: 60_000}))
    // What every inspection command reads (marks and trace read all that hooks does), so each answers offline.
    const [state, versions] = await Promise.all([buildNodeState(rec, {hooks: true, marks: true, trace: true}), collectToolVersions(rec)])
    const warnings = [...new Map(state.warnings.map((w) => [w.message, w])).values()]
    const {version} = this.config
    const snap = rec.toSnapshot({tools: parseToolVersions(versions), nodeinspectVersion: version})
    const gzip = flags.gzip || (file !== undefined && gzipByName(file))
    const failedProbes = snap.outputs.filter((o) => o.failure && o.failure !== 'missing-binary').length
    if (file !== undefined) {
      try {
        await writeSnapshot(snap, {file, gzip})
      } catch (e) {
        throw new UserError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
      }
      if (!this.jsonEnabled()) {
        // The hostname and the tools' messages come from the node: printable, one line each.
        this.logToStderr(`wrote ${printable(file)}: ${snap.outputs.length} probe outputs from ${printable(snap.meta.hostname ?? '?')}${snap.meta.netns ? ` netns ${printable(snap.meta.netns)}` : ''}, ${failedProbes} failed`)
        for (const w of warnings) this.logToStderr(`warning: ${printable(w.message)}`)
      }
    } else {
      // Streamed, one probe output at a time: `kubectl debug node/N … -- nodeinspect snapshot -o - > n.json`.
      await writeSnapshot(snap, {gzip})
    }
    return {file: file ?? '-', outputs: snap.outputs.length, failedProbes, warnings, ...(gzip ? {gzip} : {})}
  }
}
