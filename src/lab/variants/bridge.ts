/** (a) `bridge`: a flannel-style bridge CNI (cni0, veth pods, flannel.1 VXLAN on UDP 8472); no eBPF programs. */
import {bridgeCni} from './bridge-cni.js'
import type {LabVariantDef} from './variant-plan.js'

export const bridgeVariant: LabVariantDef = {
  name: 'bridge',
  summary: 'flannel-style bridge CNI: cni0 per node with veth pods, VXLAN flannel.1 (VNI 1, UDP 8472), flanneld iptables rules',
  plan: (prefix) => bridgeCni('bridge', bridgeVariant.summary, prefix).build(),
}
