import {createRequire} from 'node:module'
import type {RouteAnswer, RouteQuery} from '../model/routing.js'
import {formatIp, parseIpAddress} from '../util/ip.js'
import type * as Rt from 'netlink/dist/rt/rt.js'
import type {RouteAttrs} from 'netlink/dist/rt/gen_structs.js'

/**
 * A route lookup asked of the kernel over rtnetlink (RTM_GETROUTE with RTM_F_LOOKUP_TABLE, as iproute2 does, so the
 * answer names the policy table actually used), through the `netlink` package: one socket, ~0.1 ms a lookup. It
 * cannot enter another netns (docs/kernel-notes.md#kn-9-netlink-package), so it serves the host's own netns; elsewhere `ip route get` does.
 */
let socket: Rt.RtNetlinkSocket | undefined

function rtSocket(): Rt.RtNetlinkSocket {
  if (!socket) {
    // The deep require skips the nl80211/wireguard modules: half the import cost (docs/kernel-notes.md#kn-9-netlink-package).
    const rt = createRequire(import.meta.url)('netlink/dist/rt/rt.js') as typeof Rt
    socket = rt.createRtNetlink()
  }
  return socket
}

const TYPES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat']
const TABLES: Record<number, string> = {254: 'main', 255: 'local', 253: 'default'}

/** A RouteQuery holds checked addresses; anything else goes as no bytes, and the lookup ends in an error answer. */
function addr(ip: string): Buffer {
  return parseIpAddress(ip)?.bytes ?? Buffer.alloc(0)
}

function ipText(b: Buffer | undefined): string | undefined {
  return b && (b.length === 4 || b.length === 16) ? formatIp(b.length === 4 ? 'ipv4' : 'ipv6', b) : undefined
}

export async function netlinkRouteGet(q: RouteQuery, devices: ReadonlyArray<{ifindex: number; name: string}>): Promise<RouteAnswer> {
  const v6 = q.family === 'ipv6'
  const asked = `${q.dst}${q.src ? ` from ${q.src}` : ''}${q.iif ? ` iif ${q.iif}` : ''}${q.oif ? ` oif ${q.oif}` : ''}${q.mark ? ` mark 0x${q.mark.toString(16)}` : ''}`
  const attrs: RouteAttrs = {dst: addr(q.dst)}
  if (q.src) attrs.src = addr(q.src)
  const ifindex = (name: string) => devices.find((d) => d.name === name)?.ifindex
  if (q.iif) attrs.iif = ifindex(q.iif)
  if (q.oif) attrs.oif = ifindex(q.oif)
  if (q.mark) {
    const m = Buffer.alloc(4)
    m.writeUInt32LE(q.mark >>> 0)
    attrs.mark = m
  }
  try {
    const [msg] = await rtSocket().getRoute({family: v6 ? 10 : 2, dstLen: v6 ? 128 : 32, ...(q.src ? {srcLen: v6 ? 128 : 32} : {}), flags: {lookupTable: true}}, attrs)
    if (!msg) return {type: 'error', evidence: 'kernel', detail: `rtnetlink route get ${asked}: no answer`, error: 'no answer'}
    const type = typeof msg.data.type === 'number' ? (TYPES[msg.data.type] ?? String(msg.data.type)) : String(msg.data.type ?? 'unicast').toLowerCase()
    const oif = msg.attrs.oif
    const table = msg.attrs.table ?? msg.data.table
    const a: RouteAnswer = {type, evidence: 'kernel', detail: ''}
    const dev = oif !== undefined ? devices.find((d) => d.ifindex === oif)?.name : undefined
    if (dev) a.dev = dev
    const gw = ipText(msg.attrs.gateway)
    if (gw) a.gateway = gw
    const ps = ipText(msg.attrs.prefsrc)
    if (ps) a.prefsrc = ps
    if (table !== undefined) a.table = TABLES[table] ?? String(table)
    a.detail = `asked the kernel over rtnetlink: route get ${asked} → ${[type !== 'unicast' ? type : '', gw ? `via ${gw}` : '', dev ? `dev ${dev}` : '', a.table ? `table ${a.table}` : '', ps ? `src ${ps}` : ''].filter(Boolean).join(' ')}`
    return a
  } catch (e) {
    // The package reports kernel errors as "Request rejected: EHOSTUNREACH" with no errno property.
    const words = (e as Error).message.replace(/^Request rejected: /, '')
    return {type: /ENETUNREACH|EHOSTUNREACH/.test(words) ? 'unreachable' : 'error', evidence: 'kernel', detail: `the kernel answered rtnetlink route get ${asked}: ${words}`, error: words}
  }
}

/** The socket is unref'd by the package, so the process can exit without this; tests call it to be tidy. */
export function closeNetlink(): void {
  socket?.socket.close()
  socket = undefined
}
