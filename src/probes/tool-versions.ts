import type {RawOutput, Source} from '../source/types.js'

/** Each tool's own version line, recorded in snapshots so a reader knows which formats produced them. */
const TOOL_VERSION_ARGV: Record<string, readonly string[]> = {
  bpftool: ['bpftool', 'version'],
  ip: ['ip', '-V'],
  tc: ['tc', '-V'],
  iptables: ['iptables', '--version'],
  nft: ['nft', '--version'],
  'nodeinspect-bpf': ['nodeinspect-bpf', 'version'],
}

export async function collectToolVersions(src: Source): Promise<Record<string, RawOutput>> {
  const entries = await Promise.all(Object.entries(TOOL_VERSION_ARGV).map(async ([k, argv]) => [k, await src.run({argv, timeoutMs: 5000})] as const))
  return Object.fromEntries(entries)
}

/** "bpftool v7.1.0\nusing libbpf v1.1…" → "bpftool v7.1.0"; absent when the tool did not answer. */
export function parseToolVersions(outs: Record<string, RawOutput>): Record<string, string> {
  const v: Record<string, string> = {}
  for (const [k, o] of Object.entries(outs)) {
    const line = (o.stdout || o.stderr).split('\n').find((l) => l.trim() !== '')
    if (!o.failure && line) v[k] = line.trim()
  }
  return v
}
