/**
 * What actually runs for a tool asked for by a LiveSource: the tool itself, or `nsenter --net=PATH -- tool` for
 * a named netns (docs/kernel-notes.md#kn-1-nsenter-not-ip-netns-exec); a dump read as it streams through the
 * helper's `exec`, which gives its output a deep buffer first (RunRequest.deepOutput). One function, so a run
 * started ahead (head-start.ts) is the very command the source asks for later.
 */
export const NETNS_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/

export const netnsPathOf = (name: string): string => `/run/netns/${name}`

/**
 * The output buffer a streamed dump gets (`nodeinspect-bpf exec --sndbuf`): 64 MiB, which the kernel doubles for
 * its own bookkeeping, holds a dump several times the 16 MB of 110k kube-proxy rules; memory is taken only as
 * the tool prints faster than nodeinspect reads (docs/kernel-notes.md#kn-30-dump-socket-buffer).
 * @internal tested directly (a test seam)
 */
export const DUMP_SNDBUF_BYTES = 64 * 1024 * 1024

/** `helper`: the nodeinspect-bpf binary to run the tool through with a deep output buffer, or none. */
export function spawnSpec(nsPath: string | undefined, file: string, rest: readonly string[], helper?: string): {file: string; args: string[]} {
  const [run, args] = helper === undefined ? [file, rest] : [helper, ['exec', '--sndbuf', String(DUMP_SNDBUF_BYTES), '--', file, ...rest]]
  return nsPath ? {file: 'nsenter', args: [`--net=${nsPath}`, '--', run, ...args]} : {file: run, args: [...args]}
}
