import {ebpfSource} from './ebpf.js'
import {iptablesSource} from './iptables.js'
import {ipRulesSource} from './ip-rules.js'
import {nftSource} from './nft.js'
import {socketsSource} from './sockets.js'
import type {MarkSource} from './source.js'
import {tcSource} from './tc.js'
import {xfrmSource} from './xfrm.js'

/** Every source of mark use, in the order their uses are numbered (u1, u2, …). */
export const MARK_SOURCES: readonly MarkSource[] = [iptablesSource, nftSource, ipRulesSource, xfrmSource, tcSource, socketsSource, ebpfSource]
