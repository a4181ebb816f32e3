import {Flags} from '@oclif/core'
import {LabCommand} from '../../lab/command.js'
import type {AnyLabState} from '../../lab/state.js'
import {CILIUM_LAB, LAB_VARIANT_NAMES} from '../../lab/variants/registry.js'

export default class LabUp extends LabCommand {
  static override summary = 'Build a two-node lab in network namespaces: the Cilium-like lab, or a CNI variant'
  static override description = `Creates <prefix>-node1/-node2 and their pod namespaces. The default (--variant cilium) is the Cilium-like lab: the reference scenario's addresses, devices and ifindexes, a VXLAN overlay between the nodes, an external namespace behind node 1 (masquerade target), kube-proxy-style Service, masquerade and mark-drop rules on node 1, and the lab's own BPF programs attached like Cilium does (tc clsact, tcx, XDP, a tail call), each recording the flows it sees in a pinned map. The other variants are CNIs built differently, with real listeners and no eBPF programs: bridge (flannel-style cni0 over VXLAN flannel.1), routed (Calico-style /32 pods with a proxy-ARP gateway over vxlan.calico), iptables-kube-proxy (kube-proxy in iptables mode on bridge: statistic endpoint choice, DNAT, a same-node Service, REJECT without endpoints), nft-kube-proxy (kube-proxy in nftables mode on bridge), policy-routing (AWS-VPC-CNI-style source policy routing and SNAT out a second uplink), notrack (raw NOTRACK of the overlay port and a DNAT on node 2), br-netfilter (bridge with bridge-nf-call-iptables=1, when the kernel has br_netfilter). Tears down leftovers of an unfinished lab of the same prefix first; refuses a lab that is up unless --rebuild, and a concurrent lab up or down of the same prefix (a lock). Needs root.`
  static override enableJsonFlag = true
  static override flags = {
    prefix: Flags.string({description: 'lab prefix [default: $NODEINSPECT_LAB_PREFIX or nilab]'}),
    variant: Flags.string({description: 'which lab to build (see the description)', options: [...LAB_VARIANT_NAMES], default: CILIUM_LAB}),
    collide: Flags.boolean({
      description:
        "cilium variant only: also write the marks of owners that collide on node 1: Cilium's mangle/filter rules and `ip rule pref 9 fwmark 0x200/0xf00 lookup 2004`, Istio's ISTIO_OUTPUT whole-mark writer (--set-mark 0x1337) and a match in Cilium's 0x0F00 nibble, and a from-container program that ORs 0x800 into the mark",
      default: false,
    }),
    verbose: Flags.boolean({description: 'print each step on stderr as it starts (`lab up: step compile`)', default: false}),
    rebuild: Flags.boolean({description: 'when a lab of this prefix is already up, tear it down and build it anew (without it, lab up refuses)', default: false}),
  }
  static override examples = ['<%= config.bin %> lab up', '<%= config.bin %> lab up --collide', '<%= config.bin %> lab up --variant bridge', '<%= config.bin %> lab up --rebuild', '<%= config.bin %> lab up --prefix mylab --json']

  async run(): Promise<AnyLabState> {
    const {flags} = await this.parse(LabUp)
    const [{resolvePrefix}, {requireRoot}, {UserError}] = await Promise.all([import('../../lab/topology.js'), import('../../lab/command.js'), import('../../errors.js')])
    const prefix = resolvePrefix(flags.prefix)
    if (flags.collide && flags.variant !== CILIUM_LAB) throw new UserError(`--collide applies to the cilium variant only, not to --variant ${flags.variant}`)
    requireRoot('lab up')
    const onStep = flags.verbose ? (s: string) => process.stderr.write(`lab up: step ${s}\n`) : undefined
    if (flags.variant !== CILIUM_LAB) {
      const [{labUpVariant}, {formatVariantState}] = await Promise.all([import('../../lab/variants/up.js'), import('../../lab/variants/format.js')])
      const state = await labUpVariant({prefix, variant: flags.variant, rebuild: flags.rebuild, onStep})
      if (!this.jsonEnabled()) {
        this.log(`lab ${prefix} is up (variant ${state.variant}) (${(state.upMs / 1000).toFixed(1)} s)`)
        for (const l of formatVariantState(state)) this.log(l)
      }
      return state
    }
    const [{labUp}, {formatLabState}] = await Promise.all([import('../../lab/up.js'), import('../../lab/format.js')])
    const state = await labUp({prefix, collide: flags.collide, rebuild: flags.rebuild, onStep})
    if (!this.jsonEnabled()) {
      this.log(`lab ${prefix} is up${flags.collide ? ' (variant collide)' : ''} (${(state.upMs / 1000).toFixed(1)} s)`)
      for (const l of formatLabState(state)) this.log(l)
    }
    return state
  }
}
