import type {XtMatchParser} from '../extension.js'

/** libxt_icmp / libip6t_icmp6: `--icmp-type echo-request`, `--icmpv6-type 128`. */
export const icmpMatch: XtMatchParser = {
  names: ['icmp', 'icmp6'],
  parse(module, x) {
    const o = x.take('icmp-type', 'icmpv6-type')
    if (!o) x.bad(`${x.what} without a type`)
    return {module, kind: 'icmp', negated: o?.negated ?? false, type: o ? (x.one(o) ?? '') : ''}
  },
}
