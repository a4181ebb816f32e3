import {execFileSync} from 'node:child_process'
import {afterAll, describe, expect, it} from 'vitest'
import {closeNetlink, runRtnetlinkRouteGet} from '../../src/probes/netlink-route.js'
import {RecordingSource, SnapshotSource} from '../../src/source/snapshot.js'
import {liveSource} from '../../src/state/sources.js'
import {traceNodes} from '../helpers/nodes.js'

// Read-only questions to the host's own routing (the loopback address only): the same answer as `ip route get`.
describe('route lookups over rtnetlink (netlink package)', () => {
  afterAll(() => closeNetlink())

  it("answers in ip -j route get's shape: 127.0.0.1 is local, as ip says (type, device, source, table)", async () => {
    const ip = JSON.parse(execFileSync('ip', ['-j', 'route', 'get', '127.0.0.1'], {encoding: 'utf8'}))[0]
    const table = /table (\S+)/.exec(execFileSync('ip', ['-d', 'route', 'get', '127.0.0.1'], {encoding: 'utf8'}))?.[1]
    const r = await runRtnetlinkRouteGet(['-4', '127.0.0.1'])
    expect(r.exitCode).toBe(0)
    expect(JSON.parse(r.stdout)[0]).toMatchObject({type: ip.type, dst: '127.0.0.1', dev: ip.dev, prefsrc: ip.prefsrc, table})
  })

  it('carries a mark, and reports a kernel refusal as iproute2 does', async () => {
    expect(JSON.parse((await runRtnetlinkRouteGet(['-4', '127.0.0.1', 'mark', '0x4000'])).stdout)[0].type).toBe('local')
    const bad = await runRtnetlinkRouteGet(['-4', '127.0.0.1', 'from', '127.0.0.1', 'iif', 'nodeinspect-no-such-dev'])
    expect(bad.exitCode === 0 || /^RTNETLINK answers: /.test(bad.stderr)).toBe(true)
    expect((await runRtnetlinkRouteGet(['-4', 'not-an-address'])).exitCode).toBe(1)
  })

  it("the kernel oracle asks the host's own netns over rtnetlink, through the Source (so a recording keeps it)", async () => {
    const {nodes, oracle} = await traceNodes([liveSource()])
    const a = await oracle.route(nodes[0]!, {family: 'ipv4', dst: '127.0.0.1', mark: 0})
    expect(a).toMatchObject({type: 'local', dev: 'lo', evidence: 'kernel'})
    expect(a.detail).toMatch(/^asked the kernel over rtnetlink: route get 127\.0\.0\.1 → local dev lo/)
  })

  it('a recording keeps those answers, and the snapshot replays them word for word', async () => {
    const rec = new RecordingSource(liveSource())
    const live = await traceNodes([rec])
    const q = {family: 'ipv4' as const, dst: '127.0.0.1', mark: 0x4000}
    const asked = await live.oracle.route(live.nodes[0]!, q)
    const replay = await traceNodes([new SnapshotSource(rec.toSnapshot(), 'rec.json')])
    expect(await replay.oracle.route(replay.nodes[0]!, q)).toEqual(asked)
    // A question the recording never asked is recomputed from the recorded tables, and says so.
    const other = await replay.oracle.route(replay.nodes[0]!, {family: 'ipv4', dst: '127.0.0.2', mark: 0})
    expect(other.evidence).toBe('rule')
    expect(other.detail).toMatch(/^computed from the recorded ip rules and table local/)
  })
})
