import {readFileSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseSnapshot} from '../../src/source/snapshot.js'
import {cli, expectFailure} from '../helpers/cli.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

const SNAP = ['--snapshot', 'testdata/reference/node1.json']

describe('every failure is one nodeinspect: line, and {"error": {message, exit}} on stdout under --json', () => {
  // Issue 7: oclif's own errors (command lookup, parser) came as " ›   Error: …" without the prefix, and
  // hooks, marks, trace and snapshot printed nothing on stdout under --json.
  const cases: Array<[string, string[], number, string | RegExp]> = [
    ['an unknown command', ['nosuch', '--json'], 2, 'unknown command "nosuch" (see nodeinspect --help)'],
    ['an unknown lab command', ['lab', 'nosuch', '--json'], 2, 'unknown command "lab nosuch" (see nodeinspect --help)'],
    ['a word after a command that takes none', ['hooks', 'eth0', '--json'], 2, 'unknown command "hooks eth0" (see nodeinspect --help)'],
    ['hooks --nosuch', ['hooks', '--nosuch', '--json'], 2, 'Nonexistent flag: --nosuch'],
    ['marks --nosuch', ['marks', '--nosuch', '--json'], 2, 'Nonexistent flag: --nosuch'],
    ['trace --nosuch', ['trace', '10.42.1.80', '10.42.0.51', '--nosuch', '--json'], 2, 'Nonexistent flag: --nosuch'],
    ['snapshot --nosuch', ['snapshot', '--nosuch', '--json'], 2, 'Nonexistent flag: --nosuch'],
    ['lab status --nosuch', ['lab', 'status', '--nosuch', '--json'], 2, 'Nonexistent flag: --nosuch'],
    ['trace without arguments', ['trace', '--json'], 2, /^missing required arguments: src, dst/],
    ['a flag without its value', ['hooks', '--snapshot'], 2, 'Flag --snapshot expects a value'],
    ['marks with a bad --mask', ['marks', ...SNAP, '--mask', '0xzz', '--json'], 2, 'invalid --mask "0xzz": expected a 32-bit value such as 0xf00'],
    ['marks --bit 32', ['marks', ...SNAP, '--bit', '32', '--json'], 2, 'Parsing --bit; Expected an integer less than or equal to 31 but received: 32'],
    ['hooks --timeout abc', ['hooks', '--timeout', 'abc', '--json'], 2, /^Parsing --timeout/],
    ['lab status with a bad prefix', ['lab', 'status', '--prefix', 'Bad', '--json'], 2, /^invalid lab prefix "Bad"/],
    ['--json after -- is an argument, not the flag', ['trace', '10.42.1.80', '--', '--json'], 2, /^invalid destination "--json"/],
    // Issue 7: -o '' wrote the snapshot to standard output.
    ["snapshot -o ''", ['snapshot', '-o', ''], 2, 'invalid -o/--output "": give a file name, or - for standard output'],
    ["snapshot -o '' --json", ['snapshot', '-o', '', '--json'], 2, 'invalid -o/--output "": give a file name, or - for standard output'],
    ['snapshot --json to standard output', ['snapshot', '--json'], 2, '--json needs -o FILE: standard output carries the JSON result, so the snapshot must go to a file'],
    ['snapshot -o - --json', ['snapshot', '-o', '-', '--json'], 2, '--json needs -o FILE: standard output carries the JSON result, so the snapshot must go to a file'],
    ['diff without its snapshots', ['diff', '--json'], 2, /^missing required argument/],
    ['diff of a file that is not there', ['diff', '/nonexistent/a.json', '/nonexistent/b.json', '--json'], 2, /^snapshot \/nonexistent\/[ab]\.json: cannot read it \(no such file\)$/],
    ['completion for an unknown shell', ['completion', 'fish', '--json'], 2, 'Expected fish to be one of: bash, zsh'],
    ['lab up --nosuch', ['lab', 'up', '--nosuch', '--json'], 2, 'Nonexistent flag: --nosuch'],
    ['an argument longer than PATH_MAX', ['trace', 'x'.repeat(5000), '10.42.0.51', '--json'], 2, 'argument 1 is 5000 characters long: no nodeinspect argument or flag value is longer than 4095 (PATH_MAX)'],
  ]
  for (const [name, argv, exit, line] of cases) {
    it(name, () => expectFailure(cli(argv), argv, exit, line))
  }

  it('a bad size limit in the environment', () => {
    const argv = ['marks', ...SNAP, '--json']
    expectFailure(cli(argv, {env: {NODEINSPECT_SNAPSHOT_MAX_MIB: 'lots'}}), argv, 2, 'invalid NODEINSPECT_SNAPSHOT_MAX_MIB="lots": expected a size in MiB from 1 to 511 (the largest text Node.js can parse)')
  })

  it('--help and --version still succeed, on stdout', () => {
    for (const argv of [['--version'], ['hooks', '--help'], ['lab', 'up', '--help']]) {
      const r = cli(argv)
      expect(r.status).toBe(0)
      expect(r.stderr).toBe('')
      expect(r.stdout).not.toBe('')
    }
  })
})

const skip = liveSkipReason([])
describe.skipIf(skip !== undefined)(`snapshot -o - writes the snapshot to standard output${skip ? ` (${skip})` : ''}`, () => {
  let ns: TestNetns
  const dir = mkdtempSync(`${tmpdir()}/ni-cli-`)
  beforeAll(async () => {
    ns = await createTestNetns('snapout')
  })
  afterAll(async () => {
    await ns?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('-o - and -o FILE give the same kind of file', () => {
    const r = cli(['snapshot', '--netns', ns.name, '-o', '-'])
    expect(r.status).toBe(0)
    const snap = parseSnapshot(r.stdout, '-')
    expect(snap.meta.netns).toBe(ns.name)
    expect(snap.outputs.some((o) => o.argv.join(' ') === 'ip -j -d addr show')).toBe(true)
    const f = cli(['snapshot', '--netns', ns.name, '-o', `${dir}/n.json`, '--json'])
    expect(f.status).toBe(0)
    expect(JSON.parse(f.stdout)).toMatchObject({file: `${dir}/n.json`})
    // BPF programs and maps are global, and other tests load and unload theirs meanwhile: compare what is the netns's own.
    const own = (s: typeof snap) => s.outputs.map((o) => o.argv.join(' ')).filter((a) => a.startsWith('ip ') || a.startsWith('tc '))
    const file = parseSnapshot(readFileSync(`${dir}/n.json`, 'utf8'), 'n.json')
    expect(file.meta.netns).toBe(ns.name)
    expect(own(file)).toEqual(own(snap))
  }, 120_000)
})
