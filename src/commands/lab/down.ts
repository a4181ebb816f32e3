import {Flags} from '@oclif/core'
import {LabCommand} from '../../lab/command.js'
import type {LabDownReport} from '../../lab/teardown.js'

export default class LabDown extends LabCommand {
  static override summary = 'Remove everything the lab created'
  static override description = 'Kills the processes inside the lab namespaces, deletes the namespaces, unmounts the lab bpffs (pinned maps, programs and tcx links) and removes /run/nodeinspect-lab/<prefix>. Safe to run twice. Needs root.'
  static override enableJsonFlag = true
  static override flags = {
    prefix: Flags.string({description: 'lab prefix [default: $NODEINSPECT_LAB_PREFIX or nilab]'}),
  }
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down --prefix mylab --json']

  async run(): Promise<LabDownReport> {
    const {flags} = await this.parse(LabDown)
    const [{resolvePrefix}, {requireRoot}, {labDown}, {formatLabDown}] = await Promise.all([
      import('../../lab/topology.js'),
      import('../../lab/command.js'),
      import('../../lab/teardown.js'),
      import('../../lab/format.js'),
    ])
    const prefix = resolvePrefix(flags.prefix)
    requireRoot('lab down')
    const report = await labDown(prefix)
    if (!this.jsonEnabled()) for (const l of formatLabDown(report)) this.log(l)
    return report
  }
}
