import {Command, Flags} from '@oclif/core'
import type {LabDownReport} from '../../lab/teardown.js'

export default class LabDown extends Command {
  static override summary = 'Remove everything the lab created'
  static override description = 'Kills the processes inside the lab namespaces, deletes the namespaces, unmounts the lab bpffs (pinned maps, programs and tcx links) and removes /run/nodeinspect-lab/<prefix>. Safe to run twice. Needs root.'
  static override enableJsonFlag = true
  static override flags = {
    prefix: Flags.string({description: 'lab prefix [default: $NODEINSPECT_LAB_PREFIX or nilab]'}),
  }
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down --prefix mylab --json']

  async run(): Promise<LabDownReport> {
    const {flags} = await this.parse(LabDown)
    const [{resolvePrefix}, {labDown}, {formatLabDown, labErrorExit}] = await Promise.all([import('../../lab/topology.js'), import('../../lab/teardown.js'), import('../../lab/format.js')])
    try {
      const prefix = resolvePrefix(flags.prefix)
      if (process.getuid?.() !== 0) this.error('lab down must run as root: it deletes network namespaces and unmounts the lab bpffs', {exit: 2})
      const report = await labDown(prefix)
      if (!this.jsonEnabled()) for (const l of formatLabDown(report)) this.log(l)
      return report
    } catch (e) {
      if ((e as {oclif?: unknown}).oclif) throw e
      const {message, exit} = labErrorExit(e)
      this.error(message, {exit})
    }
  }
}
