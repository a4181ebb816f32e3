import {describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'
import {golden} from '../helpers/fixtures.js'

const REF = ['--snapshot', 'testdata/reference/node1.json', '--snapshot', 'testdata/reference/node2.json']

describe('nodeinspect trace on the reference snapshots', () => {
  it('prints the walk as a numbered tree grouped by node (golden)', async () => {
    const r = cli(['trace', '10.42.1.80', '10.42.0.51:80', ...REF])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    await expect(r.stdout).toMatchFileSnapshot(golden('trace/reference.txt'))
  })

  it('--json carries every step with its evidence', () => {
    const d = JSON.parse(cli(['trace', '10.42.1.80', '10.42.0.51:80', ...REF, '--json']).stdout)
    expect(d.schema).toBe('nodeinspect.trace/v1')
    expect(d.flow).toEqual({family: 'ipv4', src: '10.42.1.80', dst: '10.42.0.51', proto: 'tcp', mark: 0, sport: 40000, dport: 80})
    expect(d.nodes.map((n: {label: string}) => n.label)).toEqual(['ubuntu-dev2', 'ubuntu-dev3'])
    expect(d.outcome.kind).toBe('delivered')
    for (const s of d.steps) expect(['kernel', 'rule', 'program', 'assumed']).toContain(s.evidence)
  })

  it('--format dot and mermaid draw the path', async () => {
    const dot = cli(['trace', '10.42.1.80', '10.42.0.51:80', ...REF, '--format', 'dot'])
    expect(dot.status).toBe(0)
    expect(dot.stdout).toMatch(/^digraph trace \{/)
    expect(dot.stdout).toMatch(/subgraph cluster_1 \{\n {4}label="ubuntu-dev3";/)
    await expect(dot.stdout).toMatchFileSnapshot(golden('trace/reference.dot'))
    const mm = cli(['trace', '10.42.1.80', '10.42.0.51:80', ...REF, '--format', 'mermaid'])
    expect(mm.stdout.split('\n')[0]).toBe('flowchart TD')
    await expect(mm.stdout).toMatchFileSnapshot(golden('trace/reference.mmd'))
  })
})

describe('bad input: one line, exit 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['10.42.1.999', '10.42.0.51:80'], /^nodeinspect: invalid source address "10\.42\.1\.999": expected an IPv4 or IPv6 address/],
    [['10.42.1.80', '10.42.0.51:99999'], /^nodeinspect: invalid port in "10\.42\.0\.51:99999": expected 1-65535/],
    [['10.42.1.80', 'nowhere:80'], /^nodeinspect: invalid destination "nowhere:80"/],
    [['10.42.1.80', 'fd00::51'], /different address families/],
    [['10.42.1.80', '10.42.0.51:80', '--proto', 'sctp'], /invalid --proto "sctp": expected tcp, udp or icmp/],
    [['10.42.1.80', '10.42.0.51:80', '--proto', 'icmp'], /--proto icmp has no ports/],
    [['10.42.1.80', '10.42.0.51:80', '--mark', '0xzz'], /invalid --mark "0xzz": expected a 32-bit value/],
    [['10.42.1.80'], /Missing 1 required arg/],
    [['10.42.1.80', '10.42.0.51:80', '--format', 'png'], /Expected --format=png to be one of/],
  ]
  for (const [args, re] of cases) {
    it(args.join(' '), () => {
      const r = cli(['trace', ...args, ...REF])
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(re)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  }
})
