import {parseJson, problem, rawJson} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import type {BridgePortVlans, BridgeVlan} from '../model/hooks.js'
import {probe} from './descriptor.js'

/**
 * `bridge -j vlan show`: the VLANs of every bridge port and bridge device (what br_allowed_ingress and
 * br_allowed_egress check on a bridge with VLAN filtering, docs/kernel-notes.md#kn-23-bridge-vlan-filtering), e.g.
 * `[{"ifname":"br0","vlans":[{"vlan":1,"flags":["PVID","Egress Untagged"]}]},{"ifname":"vethA","vlans":[{"vlan":10,"vlanEnd":12}]}]`.
 * iproute2 prints `[]` when no bridge has VLANs (also on a kernel built without CONFIG_BRIDGE_VLAN_FILTERING).
 */
const BRIDGE_VLAN_ARGV = ['bridge', '-j', 'vlan', 'show'] as const
const PROBE = 'bridge -j vlan show'

export const bridgeVlanProbe = probe({argv: BRIDGE_VLAN_ARGV}, (t) => parseBridgeVlanJson(t), undefined as BridgePortVlans[] | undefined)

const vid = (x: unknown): number | undefined => (typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 4094 ? x : undefined)

/** @internal tested directly (a test seam) */
export function parseBridgeVlanJson(text: string): Parsed<BridgePortVlans[] | undefined> {
  if (text.trim() === '') return {facts: [], problems: []}
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts: undefined, problems: [p]}
  if (!Array.isArray(value)) return {facts: undefined, problems: [problem(PROBE, 'expected a list of ports')]}
  const facts: BridgePortVlans[] = []
  const problems: ParseProblem[] = []
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    if (typeof e.ifname !== 'string' || !Array.isArray(e.vlans)) {
      problems.push(problem(PROBE, 'port entry lacks ifname or vlans', undefined, rawJson(v)))
      continue
    }
    const vlans: BridgeVlan[] = []
    for (const x of e.vlans) {
      const o = (x ?? {}) as Record<string, unknown>
      const start = vid(o.vlan)
      const end = o.vlanEnd === undefined ? start : vid(o.vlanEnd)
      if (start === undefined || end === undefined || end < start) {
        problems.push(problem(PROBE, `${e.ifname}: a VLAN entry without a valid vlan id (1-4094)`, undefined, rawJson(x)))
        continue
      }
      const flags = Array.isArray(o.flags) ? o.flags.filter((f): f is string => typeof f === 'string') : []
      const b: BridgeVlan = {vid: start, pvid: flags.includes('PVID'), untagged: flags.includes('Egress Untagged')}
      if (end !== start) b.vidEnd = end
      vlans.push(b)
    }
    facts.push({dev: e.ifname, vlans})
  }
  return {facts, problems}
}
