import {Flags} from '@oclif/core'
import {LabCommand} from '../../lab/command.js'
import type {LabStatus} from '../../lab/status.js'

export default class LabStatusCommand extends LabCommand {
  static override summary = 'Show the lab state (namespaces, devices, attachments with their program ids)'
  static override description = 'Prints the state file written by `lab up`, after checking that its namespaces and bpffs still exist. When the lab is down it says so ({"up":false} with --json) and exits 0. Needs no privileges.'
  static override enableJsonFlag = true
  static override flags = {
    prefix: Flags.string({description: 'lab prefix [default: $NODEINSPECT_LAB_PREFIX or nilab]'}),
  }
  static override examples = ['<%= config.bin %> lab status', '<%= config.bin %> lab status --json']

  async run(): Promise<LabStatus> {
    const {flags} = await this.parse(LabStatusCommand)
    const [{resolvePrefix}, {labStatus}, {formatLabStatus}] = await Promise.all([import('../../lab/topology.js'), import('../../lab/status.js'), import('../../lab/format.js')])
    const status = labStatus(resolvePrefix(flags.prefix))
    if (!this.jsonEnabled()) for (const l of formatLabStatus(status)) this.log(l)
    return status
  }
}
