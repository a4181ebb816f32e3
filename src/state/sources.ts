import {INTERNAL_PROBES} from '../probes/internal.js'
import {LiveSource} from '../source/live.js'
import {loadSnapshot, SnapshotSource} from '../source/snapshot.js'
import type {Source} from '../source/types.js'

/** A live source with nodeinspect's in-process probes (BTF's skb layout, the netns check, rtnetlink route lookups). */
export function liveSource(opts: {netns?: string; timeoutMs?: number; defaultTimeoutMs?: number} = {}): LiveSource {
  return new LiveSource({...opts, internal: INTERNAL_PROBES})
}

/** The node an inspection command reads: `--snapshot FILE`, or live (`--netns NAME`, or the host's own netns). */
export async function sourceFrom(flags: {netns?: string; snapshot?: string; timeout?: number}): Promise<Source> {
  if (flags.snapshot !== undefined) return new SnapshotSource(await loadSnapshot(flags.snapshot), flags.snapshot)
  return liveSource({netns: flags.netns, timeoutMs: flags.timeout})
}
