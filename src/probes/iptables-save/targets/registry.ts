import type {XtTargetParser} from '../extension.js'
import {connmarkTarget} from './connmark.js'
import {ctTarget} from './ct.js'
import {dnatTarget} from './dnat.js'
import {logTarget} from './log.js'
import {markTarget} from './mark.js'
import {masqueradeTarget} from './masquerade.js'
import {nflogTarget} from './nflog.js'
import {notrackTarget} from './notrack.js'
import {redirectTarget} from './redirect.js'
import {rejectTarget} from './reject.js'
import {snatTarget} from './snat.js'
import {tproxyTarget} from './tproxy.js'
import {verdictTarget} from './verdict.js'

/** The target extensions read into typed fields. */
const TARGET_PARSERS: readonly XtTargetParser[] = [
  verdictTarget,
  rejectTarget,
  logTarget,
  nflogTarget,
  notrackTarget,
  ctTarget,
  markTarget,
  connmarkTarget,
  tproxyTarget,
  dnatTarget,
  snatTarget,
  masqueradeTarget,
  redirectTarget,
]

const BY_NAME = new Map(TARGET_PARSERS.flatMap((p) => p.names.map((n) => [n, p] as const)))

/** Target extensions kept by name and options only (kind 'other'). */
const OTHER_TARGETS = [
  'ULOG', 'NETMAP', 'NFQUEUE', 'TCPMSS', 'CLASSIFY', 'CHECKSUM', 'DSCP', 'TOS', 'TTL', 'HL', 'ECN', 'TEE', 'SET', 'AUDIT', 'HMARK', 'IDLETIMER',
  'LED', 'SECMARK', 'CONNSECMARK', 'TRACE', 'SYNPROXY', 'CLUSTERIP', 'DNPT', 'SNPT', 'RATEEST', 'TCPOPTSTRIP', 'MIRROR',
]

/** Every target extension name: a chain may not be named like one (iptables refuses), so these are never chains. */
export const KNOWN_TARGETS: ReadonlySet<string> = new Set([...BY_NAME.keys(), ...OTHER_TARGETS])

export function targetParser(name: string): XtTargetParser | undefined {
  return BY_NAME.get(name)
}
