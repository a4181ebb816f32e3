// The batches of a lab plan (src/lab/plan.ts) as the lines each tool reads on standard input, by node or pod.
import {labPlan, type LabPlanCommand} from '../../src/lab/plan.js'
import type {LabTopology, NodeName} from '../../src/lab/topology.js'

const lines = (c: LabPlanCommand | undefined): string[] => (c?.input ?? '').trimEnd().split('\n')

export function planBatches(topo: LabTopology, opts: Parameters<typeof labPlan>[1] = {}) {
  const plan = labPlan(topo, opts)
  return {
    /** `ip -batch` in a node: its links, addresses and routes. */
    nodeIp: (node: NodeName) => lines(plan.links.find((l) => l.node === node)?.commands[0]),
    podIp: (pod: string) => lines(plan.podNetworks.find((c) => c.step === `pod network (${pod})`)),
    extIp: () => lines(plan.podNetworks.find((c) => c.step === 'ext network')),
    tc: (node: NodeName) => lines(plan.tc.find((x) => x.node === node)?.command),
    maps: () => lines(plan.maps),
    bpftool: () => lines(plan.bpftool),
    bpffsDirs: () => plan.bpffsDirs,
  }
}
