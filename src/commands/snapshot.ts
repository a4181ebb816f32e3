import {writeFile} from 'node:fs/promises'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {collectEverything} from '../collect/everything.js'
import {UserError} from '../errors.js'
import type {Warning} from '../probes/parsed.js'
import {collectToolVersions, parseToolVersions} from '../probes/tool-versions.js'
import {LiveSource} from '../source/live.js'
import {RecordingSource} from '../source/snapshot.js'

interface SnapshotResult {
  file: string
  outputs: number
  failedProbes: number
  warnings: Warning[]
}

export default class Snapshot extends BaseCommand {
  static override summary = 'Record the raw output of every probe into one JSON file, for offline inspection'
  static override description = `Runs every probe nodeinspect uses (read-only) and writes their raw outputs plus hostname, kernel release,
tool versions, time and namespace. Every inspection command then takes --snapshot FILE and gives the answer
it gives live.`
  static override examples = ['<%= config.bin %> snapshot -o node1.json', '<%= config.bin %> snapshot --netns nilab-node1 -o n1.json']
  static override enableJsonFlag = true
  static override flags = {
    output: Flags.string({char: 'o', description: 'file to write (default: standard output)'}),
    netns: Flags.string({description: 'record inside this named network namespace'}),
    timeout: Flags.integer({description: 'per-tool timeout in milliseconds, for every tool (default: 60000; slow dumps such as iptables-save get longer)', min: 100}),
  }

  async run(): Promise<SnapshotResult> {
    const {flags} = await this.parse(Snapshot)
    const rec = new RecordingSource(new LiveSource({netns: flags.netns, timeoutMs: flags.timeout, defaultTimeoutMs: 60_000}))
    const [warnings, versions] = await Promise.all([collectEverything(rec), collectToolVersions(rec)])
    const {version} = this.config
    const snap = rec.toSnapshot({tools: parseToolVersions(versions), nodeinspectVersion: version})
    const text = `${JSON.stringify(snap, null, 1)}\n`
    const failedProbes = snap.outputs.filter((o) => o.failure && o.failure !== 'missing-binary').length
    if (flags.output) {
      try {
        await writeFile(flags.output, text)
      } catch (e) {
        throw new UserError(`cannot write ${flags.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
      }
      if (!this.jsonEnabled()) {
        process.stderr.write(`wrote ${flags.output}: ${snap.outputs.length} probe outputs from ${snap.meta.hostname ?? '?'}${snap.meta.netns ? ` netns ${snap.meta.netns}` : ''}, ${failedProbes} failed\n`)
        for (const w of warnings) process.stderr.write(`warning: ${w.message}\n`)
      }
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text)
    }
    return {file: flags.output ?? '-', outputs: snap.outputs.length, failedProbes, warnings}
  }
}
