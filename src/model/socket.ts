/** Sockets and their SO_MARK, as `ss -e -p` prints them. */

export interface SsEndpoint {
  /** `127.0.0.1`, `::1` (ss brackets numeric IPv6; the brackets are removed here), `*` for any. */
  address: string
  /** A number, or `*`. */
  port: string
  /** `%lo` in `127.0.0.53%lo:53`: bound to a device (SO_BINDTODEVICE). */
  iface?: string
}

export interface SsProcess {
  name: string
  pid: number
  fd: number
}

export interface SsSocket {
  line: number
  /** tcp, udp, raw, …; absent when ss printed no Netid column (a single socket type was asked for). */
  netid?: string
  state: string
  recvQ: number
  sendQ: number
  local: SsEndpoint
  peer: SsEndpoint
  /** SO_MARK (sk_mark), a whole 32-bit mark; absent when zero or when ss could not see it (not root). */
  mark?: number
  /**
   * ss printed the -e details (`ino:` …) that carry fwmark, so a missing mark means 0 (when run as root). False for
   * sockets ss read from /proc/net/* (raw sockets without raw_diag): their mark is unknown, not zero.
   */
  markVisible: boolean
  processes: SsProcess[]
  inode?: number
  uid?: number
  cgroup?: string
  v6only?: boolean
}
