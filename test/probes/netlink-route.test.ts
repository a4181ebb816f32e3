import {execFileSync} from 'node:child_process'
import {afterAll, describe, expect, it} from 'vitest'
import {closeNetlink, netlinkRouteGet} from '../../src/probes/netlink-route.js'

// Read-only questions to the host's own routing (the loopback address only): the same answer as `ip route get`.
describe('route lookups over rtnetlink (netlink package)', () => {
  afterAll(() => closeNetlink())
  const devices = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], {encoding: 'utf8'})).map((d: {ifindex: number; ifname: string}) => ({ifindex: d.ifindex, name: d.ifname}))

  it('127.0.0.1 is local, as ip route get says (type, device, source; `ip -d` names the same table)', async () => {
    const ip = JSON.parse(execFileSync('ip', ['-j', 'route', 'get', '127.0.0.1'], {encoding: 'utf8'}))[0]
    const table = /table (\S+)/.exec(execFileSync('ip', ['-d', 'route', 'get', '127.0.0.1'], {encoding: 'utf8'}))?.[1]
    const a = await netlinkRouteGet({family: 'ipv4', dst: '127.0.0.1', mark: 0}, devices)
    expect(a).toMatchObject({type: ip.type, dev: ip.dev, prefsrc: ip.prefsrc, table, evidence: 'kernel'})
    expect(a.detail).toMatch(/^asked the kernel over rtnetlink: route get 127\.0\.0\.1 → local dev lo/)
  })

  it('carries a mark and reports kernel refusals in one line', async () => {
    const a = await netlinkRouteGet({family: 'ipv4', dst: '127.0.0.1', mark: 0x4000}, devices)
    expect(a.type).toBe('local')
    const b = await netlinkRouteGet({family: 'ipv4', dst: '127.0.0.1', src: '127.0.0.1', iif: 'nodeinspect-no-such-dev', mark: 0}, devices)
    expect(b.evidence).toBe('kernel')
  })
})
