import {num} from './bpftool-net.js'
import {parseJson, problem} from './parsed.js'
import type {Parsed} from '../model/warning.js'
import {probe} from './descriptor.js'

/** `ip -j netns list-id`: nsid → name, as seen from the inspected netns, e.g. `[{"nsid":0,"name":"cni-407cd7d8-…"}]`. */
const IP_NETNS_IDS_ARGV = ['ip', '-j', 'netns', 'list-id'] as const
const PROBE = 'ip -j netns list-id'

export const netnsIdsProbe = probe({argv: IP_NETNS_IDS_ARGV}, (t) => parseIpNetnsListId(t), new Map<number, string>())

/** @internal tested directly (a test seam) */
export function parseIpNetnsListId(text: string): Parsed<Map<number, string>> {
  const facts = new Map<number, string>()
  // No peer namespaces at all: iproute2 prints nothing (not "[]").
  if (text.trim() === '') return {facts, problems: []}
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts, problems: [p]}
  if (!Array.isArray(value)) return {facts, problems: [problem(PROBE, 'expected a list')]}
  for (const v of value) {
    const e = v as Record<string, unknown>
    const id = num(e?.nsid)
    if (id !== undefined && typeof e.name === 'string') facts.set(id, e.name)
  }
  return {facts, problems: []}
}
