import type {XtMatchParser} from '../extension.js'
import {addrtypeMatch} from './addrtype.js'
import {commentMatch} from './comment.js'
import {connmarkMatch} from './connmark.js'
import {conntrackMatch} from './conntrack.js'
import {icmpMatch} from './icmp.js'
import {iprangeMatch} from './iprange.js'
import {markMatch} from './mark.js'
import {multiportMatch} from './multiport.js'
import {ownerMatch} from './owner.js'
import {physdevMatch} from './physdev.js'
import {portsMatch} from './ports.js'
import {rpfilterMatch} from './rpfilter.js'
import {setMatch} from './set.js'
import {socketMatch} from './socket.js'
import {stateMatch} from './state.js'
import {statisticMatch} from './statistic.js'

/** The match extensions read into typed fields; any other `-m NAME` is kept by name and options (kind 'other'). */
const MATCH_PARSERS: readonly XtMatchParser[] = [
  portsMatch,
  multiportMatch,
  markMatch,
  connmarkMatch,
  conntrackMatch,
  stateMatch,
  commentMatch,
  statisticMatch,
  setMatch,
  addrtypeMatch,
  socketMatch,
  physdevMatch,
  rpfilterMatch,
  ownerMatch,
  icmpMatch,
  iprangeMatch,
]

const BY_NAME = new Map(MATCH_PARSERS.flatMap((p) => p.names.map((n) => [n, p] as const)))

export function matchParser(module: string): XtMatchParser | undefined {
  return BY_NAME.get(module)
}
