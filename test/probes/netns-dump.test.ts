// The helper's `netns-dump` output: parsed from recordings (testdata/netns-dump/make.sh), checked field by field
// against what iproute2 printed for the same namespace, and read live from throwaway namespaces.
import {spawnSync} from 'node:child_process'
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseIpLinkJson} from '../../src/probes/ip-link.js'
import {parseIpRouteJson} from '../../src/probes/ip-route.js'
import type {Route} from '../../src/model/routing.js'
import {parseNetnsDump} from '../../src/probes/netns-dump.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {runCommand} from '../../src/source/run-command.js'
import {testdata} from '../helpers/fixtures.js'
import {liveSkipReason} from './netns-helpers.js'

const ROOT = testdata('netns-dump/root.json')
const prefixOf = (text: string) => /"(ni-t\d+)-pod-a"/.exec(text)![1]!

/** iproute2 prints no `protocol boot`, no `table main`, no `type unicast`: compare what both always say. */
const routeKey = (r: Route) => ({family: r.family, dst: r.dst, type: r.type, table: r.table, dev: r.dev, gateway: r.gateway, prefsrc: r.prefsrc, scope: r.scope, metric: r.metric, flags: r.flags})
const v6 = (r: Record<string, unknown>) => 'pref' in r || [r.dst, r.gateway].some((x) => typeof x === 'string' && x.includes(':'))

function ipRoutes(text: string): Route[] {
  const all = JSON.parse(text) as Array<Record<string, unknown>>
  return [...parseIpRouteJson(JSON.stringify(all.filter((r) => !v6(r))), 'ipv4').facts, ...parseIpRouteJson(JSON.stringify(all.filter(v6)), 'ipv6').facts]
}

const sortRoutes = (rs: Route[]) => rs.map(routeKey).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))

describe('nodeinspect-bpf netns-dump (recorded)', () => {
  it('maps each namespace to the Device and Route model, as iproute2 sees it', () => {
    const p = prefixOf(ROOT)
    const {facts, problems} = parseNetnsDump(ROOT)
    expect(problems).toEqual([])
    expect([...facts.devices.keys()]).toEqual([`${p}-pod-a`, `${p}-pod-b`])
    const eth0 = facts.devices.get(`${p}-pod-a`)!.find((d) => d.name === 'eth0')!
    expect(eth0).toMatchObject({kind: 'veth', peer: {netnsId: 0, sameNetns: false}, addresses: [{family: 'inet', local: '10.42.1.81', prefixlen: 32, scope: 'global'}, {family: 'inet6', local: 'fd00:42::81', prefixlen: 128}, {family: 'inet6', prefixlen: 64, scope: 'link'}]})
    expect(eth0.peer!.ifindex).toBeGreaterThan(0)
    // The same namespace read by `ip -j -d addr show`: the same devices, field for field.
    expect(facts.devices.get(`${p}-pod-a`)).toEqual(parseIpLinkJson(testdata('netns-dump/pod-a.ip-addr.json')).facts)
    // And by `ip -j route show table all`: the same routes (every table, both families).
    const routes = facts.routes.get(`${p}-pod-a`)!
    expect(sortRoutes(routes)).toEqual(sortRoutes(ipRoutes(testdata('netns-dump/pod-a.ip-route.json'))))
    expect(routes).toContainEqual(expect.objectContaining({family: 'ipv4', dst: 'default', gateway: '10.42.1.247', dev: 'eth0', table: 'main'}))
    expect(routes).toContainEqual(expect.objectContaining({dst: '10.99.0.0/16', table: '100', flags: ['onlink']}))
    expect(routes).toContainEqual(expect.objectContaining({family: 'ipv6', dst: 'fd00:42::81', type: 'local', table: 'local'}))
  })

  it('says which namespace could not be read and why, and goes on', () => {
    const p = prefixOf(ROOT)
    const {facts} = parseNetnsDump(ROOT)
    expect(facts.errors).toEqual([
      {netns: `${p}-stale`, kind: 'stale', message: expect.stringMatching(/is not a namespace \(stale/)},
      {netns: `${p}-missing`, kind: 'missing', message: expect.stringMatching(/No such file or directory/)},
    ])
    expect(facts.stopped).toBeUndefined()
  })

  it('without CAP_SYS_ADMIN: one error, then it stops (every other namespace would fail the same way)', () => {
    const {facts, problems} = parseNetnsDump(testdata('netns-dump/nonroot.json'))
    expect(problems).toEqual([])
    expect(facts.devices.size).toBe(0)
    expect(facts.errors).toHaveLength(1)
    expect(facts.errors[0]).toMatchObject({kind: 'permission', message: expect.stringMatching(/setns .*Operation not permitted/)})
    expect(facts.stopped).toEqual({reason: 'permission', unread: 3})
  })

  const bad: Array<[string, string, RegExp]> = [
    ['empty', '', /empty output/],
    ['truncated', ROOT.slice(0, 200), /not valid JSON/],
    ['a list', '[]', /expected a JSON object/],
    ['another helper version', '{"helper":"nodeinspect-bpf","version":2,"netns":[]}', /unknown helper output/],
    ['the helper failed', '{"error":"netns-dump: \'a/b\' is not a netns name"}', /helper error: netns-dump/],
    ['nameless entry', '{"helper":"nodeinspect-bpf","version":1,"netns":[{"links":[],"routes":[]}]}', /lacks its name/],
    ['no routes', '{"helper":"nodeinspect-bpf","version":1,"netns":[{"netns":"a","links":[]}]}', /netns a: lacks links or routes/],
    ['bad link', '{"helper":"nodeinspect-bpf","version":1,"netns":[{"netns":"a","links":[{"ifname":"x"}],"routes":[]}]}', /netns a: link entry lacks ifindex/],
    ['bad route', '{"helper":"nodeinspect-bpf","version":1,"netns":[{"netns":"a","links":[],"routes":[{"family":"inet"},{"dst":"x"}]}]}', /netns a: (route lacks dst|route of unknown family)/],
    ['interrupted dump', '{"helper":"nodeinspect-bpf","version":1,"netns":[{"netns":"a","links":[],"routes":[],"dump_interrupted":true}]}', /NLM_F_DUMP_INTR/],
  ]
  for (const [name, text, re] of bad) {
    it(`malformed: ${name} is a problem, not a throw`, () => {
      const r = parseNetnsDump(text)
      expect(r.problems.length).toBeGreaterThan(0)
      expect(r.problems.map((x) => x.message).join('\n')).toMatch(re)
    })
  }
})

const skip = liveSkipReason([]) ?? (existsSync(bpfHelperPath()) ? undefined : `no helper binary at ${bpfHelperPath()} (run: make -C native)`)
if (skip) console.warn(`test/probes/netns-dump.test.ts: skipping the kernel tests: ${skip}`)

describe.skipIf(!!skip)('nodeinspect-bpf netns-dump against the kernel', () => {
  const p = `ni-t${process.pid}`
  const ns = [`${p}-dnode`, `${p}-dpod`]
  const stale = `/run/netns/${p}-dstale`
  const ip = (...a: string[]) => {
    const r = spawnSync('ip', a, {encoding: 'utf8'})
    if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  beforeAll(() => {
    for (const n of ns) ip('netns', 'add', n)
    ip('-n', ns[0]!, 'link', 'add', 'lxc1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[1]!)
    ip('-n', ns[1]!, 'link', 'set', 'lo', 'up')
    ip('-n', ns[1]!, 'link', 'set', 'eth0', 'up')
    ip('-n', ns[1]!, 'addr', 'add', '10.77.0.5/32', 'dev', 'eth0')
    ip('-n', ns[1]!, 'route', 'add', 'default', 'dev', 'eth0', 'scope', 'link')
    writeFileSync(stale, '')
  })
  afterAll(() => {
    for (const n of ns) spawnSync('ip', ['netns', 'del', n])
    rmSync(stale, {force: true})
  })

  it('reads a live namespace as iproute2 does, and reports a stale entry without stopping', async () => {
    const out = await runCommand({file: bpfHelperPath(), args: ['netns-dump', `${p}-dstale`, ns[1]!], logicalArgv: ['nodeinspect-bpf', 'netns-dump'], timeoutMs: 10_000})
    expect(out.failure).toBeUndefined()
    const {facts, problems} = parseNetnsDump(out.stdout)
    expect(problems).toEqual([])
    expect(facts.errors.map((e) => [e.netns, e.kind])).toEqual([[`${p}-dstale`, 'stale']])
    expect(facts.devices.get(ns[1]!)).toEqual(parseIpLinkJson(ip('-n', ns[1]!, '-j', '-d', 'addr', 'show')).facts)
    expect(sortRoutes(facts.routes.get(ns[1]!)!)).toEqual(sortRoutes(ipRoutes(ip('-n', ns[1]!, '-j', 'route', 'show', 'table', 'all'))))
  })

  it('refuses a name that is a path', async () => {
    const out = await runCommand({file: bpfHelperPath(), args: ['netns-dump', '../netns/x'], logicalArgv: ['nodeinspect-bpf', 'netns-dump'], timeoutMs: 10_000})
    expect(out.exitCode).toBe(2)
    expect(parseNetnsDump(out.stdout).problems[0]!.message).toMatch(/is not a netns name/)
  })
})
