import {Flags} from '@oclif/core'
import {LabCommand} from '../../lab/command.js'
import type {LabState} from '../../lab/state.js'

export default class LabUp extends LabCommand {
  static override summary = 'Build the two-node Cilium-like lab in network namespaces'
  static override description = `Creates <prefix>-node1/-node2 and four pod namespaces with the reference scenario's addresses, devices and ifindexes, a VXLAN overlay between the nodes, and attaches the lab's own BPF programs like Cilium does (tc clsact, tcx, XDP, a tail call). Every program records the flows it sees in a pinned map. Tears down leftovers of the same prefix first. Needs root.`
  static override enableJsonFlag = true
  static override flags = {
    prefix: Flags.string({description: 'lab prefix [default: $NODEINSPECT_LAB_PREFIX or nilab]'}),
  }
  static override examples = ['<%= config.bin %> lab up', '<%= config.bin %> lab up --prefix mylab --json']

  async run(): Promise<LabState> {
    const {flags} = await this.parse(LabUp)
    const [{resolvePrefix}, {requireRoot}, {labUp}, {formatLabState}] = await Promise.all([
      import('../../lab/topology.js'),
      import('../../lab/command.js'),
      import('../../lab/up.js'),
      import('../../lab/format.js'),
    ])
    const prefix = resolvePrefix(flags.prefix)
    requireRoot('lab up')
    const state = await labUp({prefix})
    if (!this.jsonEnabled()) {
      this.log(`lab ${prefix} is up (${(state.upMs / 1000).toFixed(1)} s)`)
      for (const l of formatLabState(state)) this.log(l)
    }
    return state
  }
}
