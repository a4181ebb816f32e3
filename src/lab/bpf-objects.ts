/** The lab's BPF objects: which C file becomes which object for which node, and compiling them with clang. */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {labAsset, labRun} from './exec.js'
import type {LabNode, LabTopology, NodeName} from './topology.js'

export interface BpfObjectSpec {
  node: NodeName
  /** File name of the object: tc shows it as `<object>:[<section>]`, so it matches Cilium's names. */
  object: string
  /** C source in lab/bpf/. */
  source: string
  defines: string[]
  /** Absolute path of the compiled object in the lab state dir. */
  path: string
}

export const BPF_CFLAGS = ['-O2', '-g', '-Wall', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu'] as const

/** Objects per node. NI_NO_PIN: loaded by bpftool with the shared map passed in (see lab/bpf/nilab.h). */
export function bpfObjectPlan(topo: LabTopology, extraDefines: readonly string[] = []): BpfObjectSpec[] {
  const out: BpfObjectSpec[] = []
  const add = (node: LabNode, object: string, source: string, defines: string[]) =>
    out.push({node: node.name, object, source, defines: [`-DNI_NODE=${node.id}`, ...defines, ...extraDefines], path: join(objectDir(topo, node.name), object)})
  for (const node of topo.nodes) {
    const atts = topo.attachments.filter((a) => a.node === node.name)
    const objects = new Set(atts.map((a) => a.object))
    if (objects.has('bpf_lxc.o')) add(node, 'bpf_lxc.o', 'bpf_lxc.c', [])
    if (objects.has('bpf_lxc_tcx.o')) add(node, 'bpf_lxc_tcx.o', 'bpf_lxc_tcx.c', ['-DNI_NO_PIN'])
    if (objects.has('bpf_overlay.o')) add(node, 'bpf_overlay.o', 'bpf_overlay.c', [])
    if (objects.has('bpf_netdev_eth0.o')) add(node, 'bpf_netdev_eth0.o', 'bpf_netdev.c', [])
    if (objects.has('bpf_xdp.o')) add(node, 'bpf_xdp.o', 'bpf_xdp.c', ['-DNI_XDP'])
    if (objects.has('bpf_foreign.o')) add(node, 'bpf_foreign.o', 'bpf_foreign.c', ['-DNI_NO_PIN'])
    if (topo.tailCalls.some((t) => t.node === node.name)) add(node, 'bpf_to_container.o', 'bpf_to_container.c', ['-DNI_NO_PIN'])
  }
  return out
}

export function objectDir(topo: LabTopology, node: NodeName): string {
  return join(topo.stateDir, 'obj', node)
}

export function objectPath(topo: LabTopology, node: NodeName, object: string): string {
  return join(objectDir(topo, node), object)
}

/** Compile every object of the plan, `concurrency` clang processes at a time (the machines have 2 cores). */
export async function compileBpfObjects(plan: readonly BpfObjectSpec[], concurrency = 2): Promise<void> {
  for (const spec of plan) mkdirSync(join(spec.path, '..'), {recursive: true})
  let next = 0
  const worker = async () => {
    while (next < plan.length) {
      const spec = plan[next++]!
      await labRun('compile', ['clang', ...BPF_CFLAGS, ...spec.defines, '-c', labAsset(`bpf/${spec.source}`), '-o', spec.path], {timeoutMs: 60_000})
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(concurrency, plan.length))}, worker))
}
