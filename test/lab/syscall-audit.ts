/**
 * Reads `strace -f -e trace=socket,bpf,sendto,sendmsg` output and lists every request that could change kernel
 * state: a bpf(2) command outside the read-only set, or a netlink message that is not a query. Test support for
 * "nodeinspect only reads": the kernel's own numbering, not strace's symbolic names (strace cannot name the
 * protocol of a socket in another netns, so it prints bare numbers).
 */

/** bpf(2) commands that only read (include/uapi/linux/bpf.h `enum bpf_cmd`). */
const READ_ONLY_BPF = new Set([
  'BPF_PROG_GET_NEXT_ID',
  'BPF_MAP_GET_NEXT_ID',
  'BPF_LINK_GET_NEXT_ID',
  'BPF_BTF_GET_NEXT_ID',
  'BPF_PROG_GET_FD_BY_ID',
  'BPF_MAP_GET_FD_BY_ID',
  'BPF_LINK_GET_FD_BY_ID',
  'BPF_BTF_GET_FD_BY_ID',
  'BPF_OBJ_GET_INFO_BY_FD',
  'BPF_OBJ_GET',
  'BPF_PROG_QUERY',
  'BPF_MAP_LOOKUP_ELEM',
  'BPF_MAP_LOOKUP_BATCH',
  'BPF_MAP_GET_NEXT_KEY',
  'BPF_TASK_FD_QUERY',
])

/**
 * Whether a netlink request of this protocol and type only reads.
 * - NETLINK_ROUTE: types from RTM_BASE (16) come in fours, NEW/DEL/GET/SET (include/uapi/linux/rtnetlink.h):
 *   (type - 16) % 4 == 2 is a GET; below 16 are control messages (NOOP, ERROR, DONE).
 * - NETLINK_NETFILTER: type = subsystem << 8 | message (include/uapi/linux/netfilter/nfnetlink.h).
 * - NETLINK_SOCK_DIAG: TCPDIAG_GETSOCK 18, DCCPDIAG_GETSOCK 19, SOCK_DIAG_BY_FAMILY 20 (SOCK_DESTROY 21 is not).
 * - NETLINK_XFRM: the XFRM_MSG_GET* types (include/uapi/linux/xfrm.h).
 * - NETLINK_GENERIC: only the controller (GENL_ID_CTRL 16), which resolves family names.
 */
export function netlinkReadOnly(protocol: string, type: number): boolean {
  switch (protocol) {
    case 'NETLINK_ROUTE':
      return type < 16 || (type - 16) % 4 === 2
    case 'NETLINK_NETFILTER': {
      const subsys = type >> 8
      const msg = type & 0xff
      // nftables (10): GETTABLE 1, GETCHAIN 4, GETRULE 7, GETSET 10, GETSETELEM 13, GETGEN 16, GETOBJ 19, GETFLOWTABLE 23.
      if (subsys === 10) return [1, 4, 7, 10, 13, 16, 19, 23].includes(msg)
      // nft_compat (11): NFNL_MSG_COMPAT_GET 0 (iptables-nft asks which xt revisions the kernel has).
      if (subsys === 11) return msg === 0
      // ipset (6): PROTOCOL 1, LIST 7, SAVE 8, HEADER 12, TYPE 13, GET_BYNAME 14, GET_BYINDEX 15.
      if (subsys === 6) return [1, 7, 8, 12, 13, 14, 15].includes(msg)
      // ctnetlink (1): CT_GET 1, GET_STATS_CPU 4, GET_STATS 5, GET_DYING 6, GET_UNCONFIRMED 7 (not GET_CTRZERO 3).
      if (subsys === 1) return [1, 4, 5, 6, 7].includes(msg)
      return type < 16 && subsys === 0
    }
    case 'NETLINK_SOCK_DIAG':
      return type === 18 || type === 19 || type === 20
    case 'NETLINK_XFRM':
      return [0x12, 0x15, 0x1f, 0x23, 0x25, 0x28].includes(type)
    case 'NETLINK_GENERIC':
      return type === 16
    default:
      return false
  }
}

/** The same rule for the names strace prints when it knows the protocol (`NFNL_SUBSYS_NFTABLES<<8|NFT_MSG_GETRULE`). */
export function symbolicNetlinkReadOnly(name: string): boolean {
  const msg = name.replace(/^NFNL_SUBSYS_\w+<<8\|/, '')
  return /^(RTM_GET\w+|NFT_MSG_GET(?!\w*RESET)\w+|XFRM_MSG_GET\w+|SOCK_DIAG_BY_FAMILY|TCPDIAG_GETSOCK|DCCPDIAG_GETSOCK|IPCTNL_MSG_CT_GET(?!_CTRZERO)\w*|IPSET_CMD_(PROTOCOL|LIST|SAVE|HEADER|TYPE|GET_BYNAME|GET_BYINDEX)|NFNL_MSG_COMPAT_GET|GENL_ID_CTRL|NLMSG_(NOOP|ERROR|DONE))$/.test(msg)
}

export interface SyscallAudit {
  /** bpf(2) commands seen, with counts. */
  bpf: Map<string, number>
  /** Netlink requests seen, `PROTOCOL type 0x..`, with counts. */
  netlink: Map<string, number>
  /** Everything that is not a read: one line each, with the strace line it came from. */
  writes: string[]
}

const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1)

export function auditStrace(text: string): SyscallAudit {
  const audit: SyscallAudit = {bpf: new Map(), netlink: new Map(), writes: []}
  const protocolOf = new Map<string, string>()
  /** socket() calls strace split into `<unfinished ...>` and `<... socket resumed>) = FD` (another thread ran between). */
  const pendingSocket = new Map<string, string>()
  for (const line of text.split('\n')) {
    const pid = /^(\d+) /.exec(line)?.[1] ?? ''
    const sock = /socket\(AF_NETLINK, [^,]+, (NETLINK_\w+|\d+)\)\s+=\s+(\d+)/.exec(line)
    if (sock) {
      protocolOf.set(`${pid}:${sock[2]}`, sock[1]!)
      continue
    }
    const started = /socket\(AF_NETLINK, [^,]+, (NETLINK_\w+|\d+) <unfinished/.exec(line)
    if (started) {
      pendingSocket.set(pid, started[1]!)
      continue
    }
    const resumed = /<\.\.\. socket resumed>.*\)\s+=\s+(\d+)/.exec(line)
    if (resumed) {
      const protocol = pendingSocket.get(pid)
      if (protocol !== undefined) protocolOf.set(`${pid}:${resumed[1]}`, protocol)
      pendingSocket.delete(pid)
      continue
    }
    const bpf = /bpf\((BPF_\w+)/.exec(line)
    if (bpf) {
      count(audit.bpf, bpf[1]!)
      if (!READ_ONLY_BPF.has(bpf[1]!)) audit.writes.push(`bpf ${bpf[1]}: ${line.slice(0, 200)}`)
      continue
    }
    const send = /(?:sendto|sendmsg)\((\d+),/.exec(line)
    if (!send || !line.includes('nlmsg_type=')) continue
    const protocol = protocolOf.get(`${pid}:${send[1]}`) ?? 'unknown'
    for (const m of line.matchAll(/nlmsg_len=(\d+), nlmsg_type=([^,\s]+)/g)) {
      if (m[1] === '0') continue // strace's view of the padding after the last message
      const raw = m[2]!
      // In its own netns strace knows the protocol and names the type (RTM_GETLINK); elsewhere it prints a number.
      const numeric = /^(0x[0-9a-f]+|\d+)$/.test(raw)
      const what = numeric ? `${protocol} type 0x${Number(raw).toString(16)}` : raw
      count(audit.netlink, what)
      if (!(numeric ? netlinkReadOnly(protocol, Number(raw)) : symbolicNetlinkReadOnly(raw))) audit.writes.push(`${what}: ${line.slice(0, 200)}`)
    }
  }
  return audit
}
