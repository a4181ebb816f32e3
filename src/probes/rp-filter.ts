import type {Parsed} from '../model/warning.js'
import type {RpFilter} from '../model/rp-filter.js'
import {probe} from './descriptor.js'

/**
 * `sysctl -e -a -r '\.rp_filter$'`: every `net.ipv4.conf.*.rp_filter` of the netns, e.g.
 * `net.ipv4.conf.all.rp_filter = 0` and `net.ipv4.conf.eth0.rp_filter = 1` (a device name's dots are printed as `/`).
 */
const RP_FILTER_ARGV = ['sysctl', '-e', '-a', '-r', '\\.rp_filter$'] as const

const empty = (): RpFilter => ({devices: {}})

export const rpFilterProbe = probe({argv: RP_FILTER_ARGV}, (t) => parseRpFilter(t), empty())

/** @internal tested directly (a test seam) */
export function parseRpFilter(text: string): Parsed<RpFilter> {
  const facts = empty()
  for (const line of text.split('\n')) {
    const m = /^net\.ipv4\.conf\.(.+)\.rp_filter\s*=\s*(\d+)\s*$/.exec(line.trim())
    if (!m) continue
    const name = m[1]!.replace(/\//g, '.')
    const v = Number(m[2])
    if (name === 'all') facts.all = v
    else if (name !== 'default') facts.devices[name] = v
  }
  return {facts, problems: []}
}
