import type {XtModuleMatch} from '../../../model/netfilter.js'
import type {Bad, XtMatchParser} from '../extension.js'

function idRange(v: string | undefined, bad: Bad, what: string): {from: number; to: number} {
  const m = v === undefined ? null : /^(\d+)(?:-(\d+))?$/.exec(v)
  if (!m) {
    bad(`${what}: bad id "${v ?? ''}" (iptables-save prints numbers)`)
    return {from: 0, to: 0}
  }
  return {from: Number(m[1]), to: Number(m[2] ?? m[1])}
}

/** libxt_owner: the sending socket's uid/gid (`--uid-owner 1337`, a range `1000-2000`) or its existence. */
export const ownerMatch: XtMatchParser = {
  names: ['owner'],
  parse(module, x) {
    const m: XtModuleMatch = {module, kind: 'owner'}
    const u = x.take('uid-owner')
    if (u) m.uidOwner = {negated: u.negated, ...idRange(x.one(u), x.bad, x.what)}
    const g = x.take('gid-owner')
    if (g) m.gidOwner = {negated: g.negated, ...idRange(x.one(g), x.bad, x.what)}
    const se = x.take('socket-exists')
    if (se) m.socketExists = {negated: se.negated}
    return m
  },
}
