/**
 * What actually runs for a tool asked for by a LiveSource: the tool itself, or `nsenter --net=PATH -- tool` for
 * a named netns (docs/kernel-notes.md#kn-1-nsenter-not-ip-netns-exec). One function, so a run started ahead
 * (head-start.ts) is the very command the source asks for later.
 */
export const NETNS_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/

export const netnsPathOf = (name: string): string => `/run/netns/${name}`

export function spawnSpec(nsPath: string | undefined, file: string, rest: readonly string[]): {file: string; args: string[]} {
  return nsPath ? {file: 'nsenter', args: [`--net=${nsPath}`, '--', file, ...rest]} : {file, args: [...rest]}
}
