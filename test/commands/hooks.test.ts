import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {gzipSync} from 'node:zlib'
import {afterAll, describe, expect, it} from 'vitest'
import {cli, expectFailure} from '../helpers/cli.js'
import {golden} from '../helpers/fixtures.js'

describe('nodeinspect hooks on the reference snapshots', () => {
  for (const node of [1, 2]) {
    it(`prints node ${node} as a table grouped by device (golden)`, async () => {
      const r = cli(['hooks', '--snapshot', `testdata/reference/node${node}.json`])
      expect(r.status).toBe(0)
      expect(r.stderr).toBe('')
      await expect(r.stdout).toMatchFileSnapshot(golden(`hooks/reference-node${node}.txt`))
    })
  }

  it('--json prints the nodeinspect.hooks/v1 schema', () => {
    const r = cli(['hooks', '--snapshot', 'testdata/reference/node2.json', '--dev', 'lxc*', '--json'])
    expect(r.status).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.schema).toBe('nodeinspect.hooks/v1')
    expect(doc.devices.map((d: {name: string}) => d.name)).toEqual(['lxc_health', 'lxc65015af813d1'])
    expect(doc.devices[1].hooks.map((h: {hook: string; progId: number}) => `${h.hook}:${h.progId}`)).toEqual(['tc-ingress:4670'])
  })
})

describe('gzip-compressed snapshots (issue 11)', () => {
  const dir = mkdtempSync(`${tmpdir()}/ni-gz-`)
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const REF = 'testdata/reference/node2.json'
  it('reads a .json.gz, and gzip under any name (by its magic bytes), giving the answer of the plain file', () => {
    // The file's name is in the answer (node.snapshotFile, the warnings): the same name for all three.
    const plain = cli(['hooks', '--snapshot', REF, '--json']).stdout.replaceAll(REF, 'FILE')
    writeFileSync(`${dir}/n2.json.gz`, gzipSync(readFileSync(REF)))
    writeFileSync(`${dir}/n2-really-gzip.json`, gzipSync(readFileSync(REF)))
    for (const f of ['n2.json.gz', 'n2-really-gzip.json']) {
      const r = cli(['hooks', '--snapshot', `${dir}/${f}`, '--json'])
      expect(r.status).toBe(0)
      expect(r.stdout.replaceAll(`${dir}/${f}`, 'FILE')).toBe(plain)
    }
  })
})

describe('bad input gets one line and a non-zero exit, never a stack trace; --json also prints it as JSON', () => {
  const dir = mkdtempSync(`${tmpdir()}/ni-cli-`)
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const REF = 'testdata/reference/node1.json'
  const ref = (): Record<string, any> => JSON.parse(readFileSync(REF, 'utf8'))
  function write(name: string, text: string | Buffer): string {
    writeFileSync(`${dir}/${name}`, text)
    return `${dir}/${name}`
  }
  function fifo(): string {
    execFileSync('mkfifo', [`${dir}/fifo`])
    return `${dir}/fifo`
  }
  const cases: Array<[string, () => string[], number, string | RegExp]> = [
    ['a missing snapshot', () => ['--snapshot', `${dir}/none.json`], 2, `snapshot ${dir}/none.json: cannot read it (no such file)`],
    ['a corrupt snapshot', () => ['--snapshot', write('corrupt.json', '{"format":"nodeinspect-snapshot",')], 2, /^snapshot .*corrupt\.json: not valid JSON/],
    ['a snapshot of another version', () => ['--snapshot', write('v9.json', '{"format":"nodeinspect-snapshot","version":9,"meta":{},"outputs":[]}')], 2, /format version 9 is not supported/],
    ['a bad --netns', () => ['--netns', '../x'], 2, /^invalid --netns "\.\.\/x"/],
    ['an unknown --netns', () => ['--netns', 'ni-no-such-netns'], 2, /no such network namespace/],
    ['a --dev that matches nothing', () => ['--snapshot', REF, '--dev', 'eht0'], 2, 'no device matches --dev "eht0"'],
    ['--netns with --snapshot', () => ['--netns', 'x', '--snapshot', 'y'], 2, /cannot also be provided when using/],
    // Issue 7: files that are not snapshots are refused from what they are, before they are read.
    ['/dev/urandom (1.1 GB read before)', () => ['--snapshot', '/dev/urandom'], 2, 'snapshot /dev/urandom: a character device, not a regular file: a snapshot is a file written by `nodeinspect snapshot -o FILE`'],
    ['a FIFO (hung before)', () => ['--snapshot', fifo()], 2, `snapshot ${dir}/fifo: a FIFO (named pipe), not a regular file: a snapshot is a file written by \`nodeinspect snapshot -o FILE\``],
    ['a directory', () => ['--snapshot', dir], 2, `snapshot ${dir}: a directory, not a regular file: a snapshot is a file written by \`nodeinspect snapshot -o FILE\``],
    ['a large file that is no snapshot', () => ['--snapshot', write('array.json', `[${'1,'.repeat(1_000_000)}1]`)], 2, /^snapshot .*array\.json: not a nodeinspect snapshot \(it does not start with \{"format": "nodeinspect-snapshot"/],
    // Issue 11: gzip is read (one layer); gzip of gzip, or gzip of something else, is refused by name.
    ['a snapshot gzip-compressed twice', () => ['--snapshot', write('twice.json.gz', gzipSync(gzipSync(readFileSync(REF))))], 2, `snapshot ${dir}/twice.json.gz: gzip-compressed twice: decompress it once (gunzip ${dir}/twice.json.gz)`],
    ['gzip of a text that is no snapshot', () => ['--snapshot', write('text.gz', gzipSync('hello\n'.repeat(400)))], 2, /^snapshot .*text\.gz: not a nodeinspect snapshot \(once inflated: it is gzip-compressed\)/],
    ['a truncated gzip snapshot', () => ['--snapshot', write('cut.json.gz', gzipSync(readFileSync(REF)).subarray(0, 1000))], 2, /^snapshot .*cut\.json\.gz: corrupt gzip data \(unexpected end of file\)$/],
    // Issue 7: a corrupt snapshot names the field, instead of an internal error further on.
    ['meta.hostname as a number', () => ['--snapshot', write('host5.json', JSON.stringify({...ref(), meta: {...ref().meta, hostname: 5}}))], 2, /^snapshot .*host5\.json: corrupt: meta\.hostname is a number, expected a string$/],
    ['meta.note nested 6,000 levels deep', () => ['--snapshot', write('deep.json', JSON.stringify({...ref(), meta: {note: 0}}).replace('"note":0', `"note":${'['.repeat(6000)}${']'.repeat(6000)}`))], 2, /corrupt: meta\.note is a list, expected a string$/],
    ['an output without durationMs', () => ['--snapshot', write('nodur.json', JSON.stringify({...ref(), outputs: ref().outputs.map((o: object) => ({...o, durationMs: undefined}))}))], 2, /corrupt: outputs\[0\]\.durationMs is missing, expected milliseconds \(a number ≥ 0\)$/],
    // Issue 7: --dev, bounded and never empty.
    ["--dev '' (matched every device before)", () => ['--snapshot', REF, '--dev', ''], 2, `invalid --dev "": give a device name or glob, e.g. eth0 or 'lxc*' (leave --dev out for every device)`],
    ['--dev of 200 characters', () => ['--snapshot', REF, '--dev', 'x'.repeat(200)], 2, `invalid --dev "${'x'.repeat(32)}…" (200 characters): longer than any device name or altname (127 characters at most)`],
    ['--dev of 40,000 characters (internal error before)', () => ['--snapshot', REF, '--dev', '*'.repeat(40_000)], 2, 'the value of --dev is 40000 characters long: no nodeinspect argument or flag value is longer than 4095 (PATH_MAX)'],
    ['--snapshot of 5,000 characters', () => ['--snapshot', 'x'.repeat(5000)], 2, 'the value of --snapshot is 5000 characters long: no nodeinspect argument or flag value is longer than 4095 (PATH_MAX)'],
  ]
  for (const [name, args, code, line] of cases) {
    it(name, () => {
      const argv = ['hooks', ...args(), '--json']
      expectFailure(cli(argv), argv, code, line)
    })
  }

  it('without --json: the line on stderr, nothing on stdout', () => {
    const argv = ['hooks', '--snapshot', '/dev/urandom']
    expectFailure(cli(argv), argv, 2, /^snapshot \/dev\/urandom: a character device/)
  })

  it('a snapshot above the size limit says the limit and how to raise it; raised, it loads', () => {
    const big = {...ref(), outputs: [...ref().outputs, {argv: ['padding'], stdout: 'x'.repeat(1_200_000), stderr: '', exitCode: 0, durationMs: 0}]}
    const f = write('big.json', JSON.stringify(big))
    const argv = ['hooks', '--snapshot', f, '--json']
    expectFailure(cli(argv, {env: {NODEINSPECT_SNAPSHOT_MAX_MIB: '1'}}), argv, 2, `snapshot ${f}: 1.2 MiB, above the 1.0 MiB limit for a snapshot (NODEINSPECT_SNAPSHOT_MAX_MIB=N raises it to N MiB, up to 511)`)
    const ok = cli(argv, {env: {NODEINSPECT_SNAPSHOT_MAX_MIB: '2'}})
    expect(ok.status).toBe(0)
    expect(JSON.parse(ok.stdout).devices).toHaveLength(7)
  })

  it('a glob that made the RegExp backtrack for minutes answers at once', () => {
    const argv = ['hooks', '--snapshot', REF, '--dev', `${'*'.repeat(100)}x`, '--json']
    const t = Date.now()
    expectFailure(cli(argv), argv, 2, `no device matches --dev "${'*'.repeat(64)}…" (101 characters)`)
    expect(Date.now() - t).toBeLessThan(20_000)
  })
})

describe('a corrupt recorded output degrades its probe with a warning, never an internal error', () => {
  const dir = mkdtempSync(`${tmpdir()}/ni-cli-`)
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  function withProg(name: string, edit: (stdout: string) => string): string {
    const snap = JSON.parse(readFileSync('testdata/reference/node1.json', 'utf8'))
    const o = snap.outputs.find((x: {argv: string[]}) => x.argv.join(' ') === 'bpftool -j prog show')
    o.stdout = edit(o.stdout)
    writeFileSync(`${dir}/${name}`, JSON.stringify(snap))
    return `${dir}/${name}`
  }

  it('loaded_at 1e20 (an "Invalid time value" crash before)', () => {
    const f = withProg('t1e20.json', (s) => s.replace(/"loaded_at":\s*\d+/, '"loaded_at": 1e20'))
    const r = cli(['hooks', '--snapshot', f, '--json'])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout).warnings).toContainEqual({
      probe: 'bpftool -j prog show',
      kind: 'parse',
      message: 'bpftool -j prog show: program 2901: loaded_at 100000000000000000000 is not a time (epoch seconds beyond what a date can hold)',
    })
    const text = cli(['hooks', '--snapshot', f])
    expect(text.status).toBe(0)
    expect(text.stdout).toMatch(/^warning: bpftool -j prog show: program 2901: loaded_at 100000000000000000000 is not a time/m)
  })

  it('JSON nested 6,000 levels deep (a stack overflow before)', () => {
    const f = withProg('deep.json', () => `[${'['.repeat(6000)}${']'.repeat(6000)}]`)
    const r = cli(['hooks', '--snapshot', f, '--json'])
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout).warnings).toContainEqual({
      probe: 'bpftool -j prog show',
      kind: 'parse',
      message: 'bpftool -j prog show: JSON nested deeper than 256 levels: no tool writes that, the output is corrupt',
    })
  })
})
