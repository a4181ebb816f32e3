/**
 * The state file of a CNI variant lab (`lab up --variant NAME`), written where the Cilium lab's is
 * (/run/nodeinspect-lab/<prefix>/state.json): the plan's data plus what was read back from the kernel. `variant`
 * names the variant; the Cilium lab's state says 'base' or 'collide' there (src/lab/state.ts).
 */
import type {LabProcessState} from '../state.js'
import type {ExpectedRoute, LabVariantPlan, VariantIpCommand, VariantXtRule} from './variant-plan.js'

/** A device as `ip -j -d addr show` printed it in its netns after `lab up`. */
export interface VariantDeviceState {
  netns: string
  name: string
  ifindex: number
  mac: string
  kind: string
  master?: string
  addresses: string[]
  vxlan?: {id: number; port: number}
}

/** The plan's own description of the lab, as it was carried out. */
type PlanPart = Pick<LabVariantPlan, 'prefix' | 'variant' | 'summary' | 'stateDir' | 'statePath' | 'namespaces' | 'nodes' | 'pods' | 'outside' | 'services' | 'flows'>

export interface LabVariantState extends PlanPart {
  version: 2
  createdAt: string
  upMs: number
  processes: LabProcessState[]
  devices: VariantDeviceState[]
  /** The routes verified present (`ip -j route show table all`). */
  routes: ExpectedRoute[]
  /** Sysctls as read back (`sysctl` inside each netns); a key the kernel lacks is absent. */
  sysctls: Array<{netns: string; key: string; value?: string}>
  netfilter: {
    /** Each rule with the line iptables-save printed for it. */
    rules: Array<VariantXtRule & {saved: string}>
    /** Each native nft table as `nft list table` printed it. */
    nft: Array<{node: string; family: string; name: string; listing: string}>
    ip: VariantIpCommand[]
  }
}
