/**
 * (d) `policy-routing`: AWS-VPC-CNI-style source policy routing on the bridge variant. Node 1 has a second uplink
 * (eth1, a veth to the namespace `ext`, "outside"), and curl's traffic leaves by it: `ip rule from <curl> lookup
 * 100` (pref 1536, after the VPC rule `to <pod network> lookup main` at 512, as the CNI writes them), table 100's
 * default via the outside router, and `-j SNAT --to-source <eth1's address>` in nat POSTROUTING (AWS-SNAT-CHAIN-0).
 * The outside listener's address is on ext's lo and not in node 1's main table: only the policy route reaches it.
 * flannel's masquerade rules are left out (they would masquerade first).
 */
import {BRIDGE_PODS, bridgeCni} from './bridge-cni.js'
import type {LabVariantDef} from './variant-plan.js'

const SECOND_UPLINK = {dev: 'eth1', nodeIp: '172.31.40.10', routerIp: '172.31.40.1'}
/** An address outside the cluster (TEST-NET-3), on ext's lo. */
const OUTSIDE_LISTENER = '203.0.113.10'
const POD_TABLE = 100

export const policyRoutingVariant: LabVariantDef = {
  name: 'policy-routing',
  summary: 'AWS-VPC-CNI-style source policy routing on the bridge variant: ip rule from <pod> lookup 100, table 100 default via a second uplink eth1, SNAT --to-source its address',
  plan: (prefix) => {
    const b = bridgeCni('policy-routing', policyRoutingVariant.summary, prefix, {flannelRules: false})
    const {curl} = BRIDGE_PODS
    const n1 = b.node('node1')
    const ext = b.outsideNetns('node1', SECOND_UPLINK.dev, SECOND_UPLINK.nodeIp, SECOND_UPLINK.routerIp, OUTSIDE_LISTENER)
    const podNetwork = '10.244.0.0/16'
    b.ipCommand({node: 'node1', owner: 'aws-vpc-cni', command: `rule add pref 512 to ${podNetwork} lookup main`, pref: 512})
    b.ipCommand({node: 'node1', owner: 'aws-vpc-cni', command: `rule add pref 1536 from ${curl.ip} lookup ${POD_TABLE}`, pref: 1536})
    b.ipCommand({node: 'node1', owner: 'aws-vpc-cni', command: `route add default via ${SECOND_UPLINK.routerIp} dev ${SECOND_UPLINK.dev} table ${POD_TABLE}`}, {netns: n1.netns, dst: 'default', dev: SECOND_UPLINK.dev, table: POD_TABLE})
    b.xt('node1', 'aws-vpc-cni', 'nat', '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0', 'feeder')
    b.xt('node1', 'aws-vpc-cni', 'nat', `-A AWS-SNAT-CHAIN-0 -d ${podNetwork} -m comment --comment "AWS SNAT CHAIN" -j RETURN`, 'inside the VPC: no SNAT')
    b.xt('node1', 'aws-vpc-cni', 'nat', `-A AWS-SNAT-CHAIN-0 -o ${SECOND_UPLINK.dev} -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source ${SECOND_UPLINK.nodeIp}`, `leaving by ${SECOND_UPLINK.dev}: SNAT to its address`)
    b.flows.push({
      kind: 'pod-policy-routed-egress-snat',
      description: `curl to ${OUTSIDE_LISTENER}:80 outside: ip rule pref 1536 from ${curl.ip} lookup ${POD_TABLE}, out ${SECOND_UPLINK.dev}, SNAT to ${SECOND_UPLINK.nodeIp}`,
      fromPod: curl.name,
      dst: OUTSIDE_LISTENER,
      dport: 80,
      proto: 'tcp',
      expect: {connected: true, listeners: [ext.name], peer: SECOND_UPLINK.nodeIp},
    })
    return b.build()
  },
}
