/** The lab's BPF objects: which C file becomes which object for which node, and compiling them with clang. */
import {copyFileSync, mkdirSync} from 'node:fs'
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

const BPF_CFLAGS = ['-O2', '-g', '-Wall', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu'] as const

/** Defines for one object of one node only (e.g. the collide variant's `-DNI_MARK_OR=0x800` on node 1's bpf_lxc.o). */
export interface ObjectDefines {
  node: NodeName
  object: string
  defines: string[]
}

/**
 * Objects per node. NI_NO_PIN: loaded by bpftool with the shared map passed in (see lab/bpf/nilab.h).
 * `extraDefines` go into every object, `objectDefines` into the one object each names.
 */
export function bpfObjectPlan(topo: LabTopology, extraDefines: readonly string[] = [], objectDefines: readonly ObjectDefines[] = []): BpfObjectSpec[] {
  const out: BpfObjectSpec[] = []
  const add = (node: LabNode, object: string, source: string, defines: string[]) => {
    const own = objectDefines.filter((o) => o.node === node.name && o.object === object).flatMap((o) => o.defines)
    out.push({node: node.name, object, source, defines: [`-DNI_NODE=${node.id}`, ...defines, ...extraDefines, ...own], path: join(objectDir(topo, node.name), object)})
  }
  for (const node of topo.nodes) {
    const atts = topo.attachments.filter((a) => a.node === node.name)
    const objects = new Set(atts.map((a) => a.object))
    if (objects.has('bpf_lxc.o')) add(node, 'bpf_lxc.o', 'bpf_lxc.c', [])
    if (objects.has('bpf_lxc_tcx.o')) add(node, 'bpf_lxc_tcx.o', 'bpf_lxc_tcx.c', ['-DNI_NO_PIN'])
    if (objects.has('bpf_overlay.o')) add(node, 'bpf_overlay.o', 'bpf_overlay.c', [])
    // One object per native device, as Cilium builds bpf_host per device (the same source and defines).
    for (const o of [...objects].filter((x) => /^bpf_netdev_[a-z0-9]+\.o$/.test(x)).sort()) add(node, o, 'bpf_netdev.c', [])
    if (objects.has('bpf_xdp.o')) add(node, 'bpf_xdp.o', 'bpf_xdp.c', ['-DNI_XDP'])
    if (objects.has('bpf_foreign.o')) add(node, 'bpf_foreign.o', 'bpf_foreign.c', ['-DNI_NO_PIN'])
    if (topo.tailCalls.some((t) => t.node === node.name)) add(node, 'bpf_to_container.o', 'bpf_to_container.c', ['-DNI_NO_PIN'])
  }
  return out
}

function objectDir(topo: LabTopology, node: NodeName): string {
  return join(topo.stateDir, 'obj', node)
}

export function objectPath(topo: LabTopology, node: NodeName, object: string): string {
  return join(objectDir(topo, node), object)
}

/**
 * Compile every object of the plan, `concurrency` clang processes at a time (the machines have 2 cores). Objects
 * with the same source and defines (bpf_netdev_eth0.o and bpf_netdev_eth1.o of one node) are compiled once and
 * copied: the bytes are the same, only the file name (which tc shows) differs.
 */
export async function compileBpfObjects(plan: readonly BpfObjectSpec[], concurrency = 2): Promise<void> {
  for (const spec of plan) mkdirSync(join(spec.path, '..'), {recursive: true})
  const groups = new Map<string, BpfObjectSpec[]>()
  for (const spec of plan) {
    const key = `${spec.source}\0${spec.defines.join('\0')}`
    ;(groups.get(key) ?? groups.set(key, []).get(key)!).push(spec)
  }
  const units = [...groups.values()]
  let next = 0
  const worker = async () => {
    while (next < units.length) {
      const [spec, ...copies] = units[next++]!
      await labRun('compile', ['clang', ...BPF_CFLAGS, ...spec!.defines, '-c', labAsset(`bpf/${spec!.source}`), '-o', spec!.path], {timeoutMs: 60_000})
      for (const c of copies) copyFileSync(spec!.path, c.path)
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(concurrency, units.length))}, worker))
}
