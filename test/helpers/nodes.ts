import type {NodeState} from '../../src/model/node-state.js'
import type {KernelOracle} from '../../src/model/oracle.js'
import {SourceKernelOracle} from '../../src/oracle/source-oracle.js'
import {loadSnapshot, SnapshotSource} from '../../src/source/snapshot.js'
import type {Source} from '../../src/source/types.js'
import {buildNodeState} from '../../src/state/build.js'

/** Nodes read for `trace` as the command reads them, with the kernel oracle that answers for them. */
export async function traceNodes(sources: readonly Source[]): Promise<{nodes: NodeState[]; oracle: KernelOracle}> {
  const nodes = await Promise.all(sources.map((s) => buildNodeState(s, {trace: true})))
  return {nodes, oracle: new SourceKernelOracle(new Map(nodes.map((n, i) => [n, sources[i]!])))}
}

export async function snapshotSource(file: string): Promise<SnapshotSource> {
  return new SnapshotSource(await loadSnapshot(file), file)
}
