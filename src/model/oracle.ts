import type {NodeState} from './node-state.js'
import type {RouteAnswer, RouteQuery} from './routing.js'

/**
 * What only the kernel can answer, asked by analyses that are otherwise pure. The live oracle asks the node through
 * its Source (so a recording keeps the answers); replaying a snapshot gives the recorded answers, or recomputes
 * them from the recorded tables and says so in the answer's evidence.
 */
export interface KernelOracle {
  /** The node's route lookup: `ip route get DST [from SRC] [iif DEV] [oif DEV] [mark M]`. */
  route(node: NodeState, q: RouteQuery): Promise<RouteAnswer>
  /** A pod's own route lookup in its netns (a peer namespace of the node); undefined when not known. */
  podRoute(node: NodeState, podNetns: string, dst: string): Promise<RouteAnswer | undefined>
}
