/** The CNI variants `lab up --variant NAME` builds (issue 9), one line each; the default lab is `cilium`. */
import {brNetfilterVariant} from './br-netfilter.js'
import {bridgeVariant} from './bridge.js'
import {iptablesKubeProxyVariant} from './iptables-kube-proxy.js'
import {nftKubeProxyVariant} from './nft-kube-proxy.js'
import {notrackVariant} from './notrack.js'
import {policyRoutingVariant} from './policy-routing.js'
import {routedVariant} from './routed.js'
import type {LabVariantDef} from './variant-plan.js'

/** Today's two-node Cilium-like lab (src/lab/topology.ts, plan.ts): not a plan of this registry. */
export const CILIUM_LAB = 'cilium'

/** @internal tested directly (a test seam) */
export const LAB_VARIANTS: readonly LabVariantDef[] = [
  bridgeVariant,
  routedVariant,
  iptablesKubeProxyVariant,
  nftKubeProxyVariant,
  policyRoutingVariant,
  notrackVariant,
  brNetfilterVariant,
]

/** Every name `--variant` accepts. */
export const LAB_VARIANT_NAMES: readonly string[] = [CILIUM_LAB, ...LAB_VARIANTS.map((v) => v.name)]

export function labVariant(name: string): LabVariantDef | undefined {
  return LAB_VARIANTS.find((v) => v.name === name)
}
