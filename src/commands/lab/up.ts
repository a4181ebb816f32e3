import {Flags} from '@oclif/core'
import {LabCommand} from '../../lab/command.js'
import type {LabState} from '../../lab/state.js'

export default class LabUp extends LabCommand {
  static override summary = 'Build the two-node Cilium-like lab in network namespaces'
  static override description = `Creates <prefix>-node1/-node2 and four pod namespaces with the reference scenario's addresses, devices and ifindexes, a VXLAN overlay between the nodes, an external namespace behind node 1 (masquerade target), kube-proxy-style Service, masquerade and mark-drop rules on node 1, and attaches the lab's own BPF programs like Cilium does (tc clsact, tcx, XDP, a tail call). Every program records the flows it sees in a pinned map. Tears down leftovers of an unfinished lab of the same prefix first; refuses a lab that is up unless --rebuild, and a concurrent lab up or down of the same prefix (a lock). Needs root.`
  static override enableJsonFlag = true
  static override flags = {
    prefix: Flags.string({description: 'lab prefix [default: $NODEINSPECT_LAB_PREFIX or nilab]'}),
    collide: Flags.boolean({
      description:
        "also write the marks of owners that collide on node 1: Cilium's mangle/filter rules and `ip rule pref 9 fwmark 0x200/0xf00 lookup 2004`, Istio's ISTIO_OUTPUT whole-mark writer (--set-mark 0x1337) and a match in Cilium's 0x0F00 nibble, and a from-container program that ORs 0x800 into the mark",
      default: false,
    }),
    verbose: Flags.boolean({description: 'print each step on stderr as it starts (`lab up: step compile`)', default: false}),
    rebuild: Flags.boolean({description: 'when a lab of this prefix is already up, tear it down and build it anew (without it, lab up refuses)', default: false}),
  }
  static override examples = ['<%= config.bin %> lab up', '<%= config.bin %> lab up --collide', '<%= config.bin %> lab up --rebuild', '<%= config.bin %> lab up --prefix mylab --json']

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
    const state = await labUp({prefix, collide: flags.collide, rebuild: flags.rebuild, onStep: flags.verbose ? (s) => process.stderr.write(`lab up: step ${s}\n`) : undefined})
    if (!this.jsonEnabled()) {
      this.log(`lab ${prefix} is up${flags.collide ? ' (variant collide)' : ''} (${(state.upMs / 1000).toFixed(1)} s)`)
      for (const l of formatLabState(state)) this.log(l)
    }
    return state
  }
}
