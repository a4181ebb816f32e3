import {readdirSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import type {RouteQuery} from '../model/routing.js'
import {familyOf, formatIp, parseIpAddress} from '../util/ip.js'
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

/** Device names and ifindexes of this process's own netns (sysfs is mounted for it). */
function ownDevices(): Array<{ifindex: number; name: string}> {
  const out: Array<{ifindex: number; name: string}> = []
  try {
    for (const name of readdirSync('/sys/class/net')) {
      const ifindex = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'))
      if (Number.isInteger(ifindex)) out.push({ifindex, name})
    }
  } catch {
    /* no sysfs: names stay unresolved, and the kernel is asked without them */
  }
  return out
}

/** `-4|-6 DST [from SRC] [iif DEV] [oif DEV] [mark 0xM]`, the words of `ip route get` (probes/ip-route-get.ts). */
function parseRouteGetArgs(args: readonly string[]): RouteQuery | undefined {
  const [fam, dst, ...rest] = args
  if ((fam !== '-4' && fam !== '-6') || !dst || familyOf(dst) === undefined) return undefined
  const q: RouteQuery = {family: fam === '-6' ? 'ipv6' : 'ipv4', dst, mark: 0}
  for (let i = 0; i + 1 < rest.length; i += 2) {
    const [k, v] = [rest[i]!, rest[i + 1]!]
    if (k === 'from') q.src = v
    else if (k === 'iif') q.iif = v
    else if (k === 'oif') q.oif = v
    else if (k === 'mark') q.mark = Number(v) >>> 0
    else return undefined
  }
  return q
}

/**
 * `nodeinspect-internal route-get …`: the kernel's route lookup over rtnetlink (RTM_GETROUTE with
 * RTM_F_LOOKUP_TABLE, as iproute2 asks it, so the answer names the policy table actually used), answered in
 * `ip -j route get`'s JSON, and refusals as iproute2 prints them (`RTNETLINK answers: …`, exit 2).
 */
export async function runRtnetlinkRouteGet(args: readonly string[]): Promise<{stdout: string; stderr: string; exitCode: number}> {
  const q = parseRouteGetArgs(args)
  if (!q) return {stdout: '', stderr: `route-get: cannot read the request "${args.join(' ')}"`, exitCode: 1}
  const v6 = q.family === 'ipv6'
  const devices = ownDevices()
  const ifindex = (name: string) => devices.find((d) => d.name === name)?.ifindex
  const attrs: RouteAttrs = {dst: addr(q.dst)}
  if (q.src) attrs.src = addr(q.src)
  if (q.iif) attrs.iif = ifindex(q.iif)
  if (q.oif) attrs.oif = ifindex(q.oif)
  if (q.mark) {
    const m = Buffer.alloc(4)
    m.writeUInt32LE(q.mark >>> 0)
    attrs.mark = m
  }
  try {
    const [msg] = await rtSocket().getRoute({family: v6 ? 10 : 2, dstLen: v6 ? 128 : 32, ...(q.src ? {srcLen: v6 ? 128 : 32} : {}), flags: {lookupTable: true}}, attrs)
    if (!msg) return {stdout: '', stderr: 'RTNETLINK answers: no answer', exitCode: 2}
    const type = typeof msg.data.type === 'number' ? (TYPES[msg.data.type] ?? String(msg.data.type)) : String(msg.data.type ?? 'unicast').toLowerCase()
    const oif = msg.attrs.oif
    const table = msg.attrs.table ?? msg.data.table
    const answer: Record<string, string> = {}
    if (type !== 'unicast') answer.type = type
    answer.dst = q.dst
    const gw = ipText(msg.attrs.gateway)
    if (gw) answer.gateway = gw
    const dev = oif !== undefined ? devices.find((d) => d.ifindex === oif)?.name : undefined
    if (dev) answer.dev = dev
    const ps = ipText(msg.attrs.prefsrc)
    if (ps) answer.prefsrc = ps
    if (table !== undefined) answer.table = TABLES[table] ?? String(table)
    return {stdout: `${JSON.stringify([answer])}\n`, stderr: '', exitCode: 0}
  } catch (e) {
    // The package reports kernel errors as "Request rejected: EHOSTUNREACH" with no errno property.
    return {stdout: '', stderr: `RTNETLINK answers: ${(e as Error).message.replace(/^Request rejected: /, '')}`, exitCode: 2}
  }
}

/** The socket is unref'd by the package, so the process can exit without this; tests call it to be tidy. */
export function closeNetlink(): void {
  socket?.socket.close()
  socket = undefined
}
