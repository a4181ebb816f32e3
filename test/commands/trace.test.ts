import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {gzipSync} from 'node:zlib'
import {afterAll, describe, expect, it} from 'vitest'
import {cli, expectFailure} from '../helpers/cli.js'
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

describe('bad input: one line, exit 2, and the JSON error under --json', () => {
  const cases: Array<[string[], string | RegExp]> = [
    [['10.42.1.999', '10.42.0.51:80'], /^invalid source address "10\.42\.1\.999": expected an IPv4 or IPv6 address/],
    [['10.42.1.80', '10.42.0.51:99999'], /^invalid port in "10\.42\.0\.51:99999": expected 1-65535/],
    [['10.42.1.80', 'nowhere:80'], /^invalid destination "nowhere:80"/],
    [['10.42.1.80', 'fd00::51'], /different address families/],
    [['10.42.1.80', '10.42.0.51:80', '--proto', 'sctp'], /invalid --proto "sctp": expected tcp, udp or icmp/],
    [['10.42.1.80', '10.42.0.51:80', '--proto', 'icmp'], /--proto icmp has no ports/],
    [['10.42.1.80', '10.42.0.51:80', '--mark', '0xzz'], /invalid --mark "0xzz": expected a 32-bit value/],
    [['10.42.1.80'], 'missing required argument: dst (a flag that takes several values, such as --snapshot, also takes the words after it: give the arguments first, or after --)'],
    [['10.42.1.80', '10.42.0.51:80', '--format', 'png'], /Expected --format=png to be one of/],
    // Issue 7: an IPv6 address takes a port only in brackets; fd00::1:80 traced ICMPv6 to fd00::1:80 before.
    [
      ['fd00::5', 'fd00::1:80'],
      'ambiguous destination "fd00::1:80": did you mean [fd00::1]:80 (address fd00::1, port 80)? An IPv6 address takes a port only in brackets; write [fd00::1:80] for the address fd00::1:80',
    ],
    [
      ['fe80::5', 'fe80::1%eth0'],
      'invalid destination "fe80::1%eth0": a zone index (%NAME) names one link, and trace follows routed flows between pods and nodes: give a routable address (global or ULA, e.g. fd00::51), not a link-local one',
    ],
    [['fe80::5%eth0', '[fe80::1]:80'], /^invalid source "fe80::5%eth0": a zone index/],
    [['10.42.1.80:5000', '10.42.0.51:80'], 'invalid source "10.42.1.80:5000": SRC is an address; give the source port with --sport'],
    [['[fd00::5]:5000', '[fd00::1]:80'], 'invalid source "[fd00::5]:5000": SRC is an address; give the source port with --sport'],
  ]
  for (const [args, line] of cases) {
    it(args.join(' '), () => {
      const argv = ['trace', ...args, ...REF, '--json']
      expectFailure(cli(argv), argv, 2, line)
    })
  }

  it('an IPv6 DST is an address, [ADDRESS]:PORT an address and a port', () => {
    const flow = (dst: string) => JSON.parse(cli(['trace', 'fd00::5', dst, ...REF, '--json']).stdout).flow
    expect(flow('[fd00::1]:80')).toEqual({family: 'ipv6', src: 'fd00::5', dst: 'fd00::1', proto: 'tcp', mark: 0, sport: 40000, dport: 80})
    expect(flow('[fd00::1:80]')).toEqual({family: 'ipv6', src: 'fd00::5', dst: 'fd00::1:80', proto: 'icmpv6', mark: 0})
    expect(flow('fd00::51')).toEqual({family: 'ipv6', src: 'fd00::5', dst: 'fd00::51', proto: 'icmpv6', mark: 0})
  })

  it('a snapshot whose meta.hostname is a number is refused by name (--format dot: "s.replace is not a function" before)', () => {
    const dir = mkdtempSync(`${tmpdir()}/ni-cli-`)
    try {
      const snap = JSON.parse(readFileSync('testdata/reference/node2.json', 'utf8'))
      snap.meta.hostname = 5
      writeFileSync(`${dir}/host5.json`, JSON.stringify(snap))
      const argv = ['trace', '10.42.1.80', '10.42.0.51:80', '--snapshot', 'testdata/reference/node1.json', '--snapshot', `${dir}/host5.json`, '--format', 'dot']
      expectFailure(cli(argv), argv, 2, `snapshot ${dir}/host5.json: corrupt: meta.hostname is a number, expected a string`)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('--help says how to write an IPv6 destination with a port', () => {
    const r = cli(['trace', '--help'])
    expect(r.status).toBe(0)
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('an IPv6 address takes a port only in brackets, [fd00::51]:80')
  })
})

describe('any number of nodes, chosen by address', () => {
  const N1 = ['--snapshot', 'testdata/reference/node1.json']
  const N2 = ['--snapshot', 'testdata/reference/node2.json']
  const OTHER = ['--snapshot', 'testdata/snapshots/marks-node.json']
  const path = (args: string[]) => {
    const r = JSON.parse(cli(['trace', '10.42.1.80', '10.42.0.51:80', ...args, '--json']).stdout) as {steps: Array<{n: number; node: string; kind: string; what: string}>; outcome: {kind: string; text: string}}
    return {steps: r.steps.map((s) => `${s.node} ${s.kind} ${s.what}`), outcome: r.outcome}
  }

  it('gives the same path whatever the order of the nodes and however many unrelated nodes are read too', () => {
    const two = path([...N1, ...N2])
    expect(two.outcome.kind).toBe('delivered')
    expect(path([...N2, ...N1])).toEqual(two)
    // Six nodes: the two on the path and four that hold none of its addresses (more than the four read at once).
    expect(path([...OTHER, ...N2, ...OTHER, ...OTHER, ...N1, ...OTHER])).toEqual(two)
  })
})

describe('trace --snapshot DIR: every snapshot of a folder, the nodes picked by address (issue 11)', () => {
  const dir = mkdtempSync(`${tmpdir()}/ni-tracedir-`)
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  it('gives the two-node path from a folder holding them (one gzip) and an unrelated node, and says which were read', () => {
    writeFileSync(`${dir}/n1.json`, readFileSync('testdata/reference/node1.json'))
    writeFileSync(`${dir}/n2.json.gz`, gzipSync(readFileSync('testdata/reference/node2.json')))
    writeFileSync(`${dir}/other.json`, readFileSync('testdata/snapshots/marks-node.json'))
    writeFileSync(`${dir}/notes.txt`, 'not a snapshot')
    const flat = (r: {steps: Array<{node: string; kind: string; what: string}>}) => r.steps.map((s) => `${s.node} ${s.kind} ${s.what}`)
    const files = JSON.parse(cli(['trace', '10.42.1.80', '10.42.0.51:80', '--snapshot', 'testdata/reference/node1.json', '--snapshot', 'testdata/reference/node2.json', '--json']).stdout)
    const r = cli(['trace', '10.42.1.80', '10.42.0.51:80', '--snapshot', dir, '--json'])
    expect(r.status).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(flat(doc)).toEqual(flat(files))
    expect(doc.outcome.kind).toBe('delivered')
    expect(doc.snapshots).toEqual({
      directories: [dir],
      read: [
        {file: `${dir}/n1.json`, node: 'ubuntu-dev2', crossed: true},
        {file: `${dir}/n2.json.gz`, node: 'ubuntu-dev3', crossed: true},
        {file: `${dir}/other.json`, node: 'ni-t3799-marksnode', crossed: false},
      ],
    })
    const text = cli(['trace', '10.42.1.80', '10.42.0.51:80', '--snapshot', dir]).stdout
    expect(text).toContain(`3 snapshots read (${dir}); the path crosses 2 of their nodes:`)
    expect(text).not.toContain('node ni-t3799-marksnode')
  })
})
