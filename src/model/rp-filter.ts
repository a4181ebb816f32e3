/** Reverse-path filtering of a netns: `net.ipv4.conf.{all,DEV}.rp_filter` (0 off, 1 strict, 2 loose). */
export interface RpFilter {
  /** `net.ipv4.conf.all.rp_filter`; absent: not read. */
  all?: number
  /** Per device, by name. */
  devices: Record<string, number>
}

/** The mode the kernel applies to a packet received on `dev`: the larger of all and the device's (IN_DEV_RPFILTER, kn-22). */
export function rpFilterMode(f: RpFilter, dev: string): number | undefined {
  const d = f.devices[dev]
  if (f.all === undefined && d === undefined) return undefined
  return Math.max(f.all ?? 0, d ?? 0)
}
