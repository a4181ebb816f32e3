import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'
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

describe('bad input gets one line and a non-zero exit, never a stack trace', () => {
  const dir = mkdtempSync(`${tmpdir()}/ni-cli-`)
  const cases: Array<[string, string[], number, RegExp]> = [
    ['a missing snapshot', ['hooks', '--snapshot', `${dir}/none.json`], 2, /snapshot .*none\.json: cannot read it \(no such file\)/],
    ['a corrupt snapshot', ['hooks', '--snapshot', write('corrupt.json', '{"format":"nodeinspect-snapshot",')], 2, /not valid JSON/],
    ['a snapshot of another version', ['hooks', '--snapshot', write('v9.json', '{"format":"nodeinspect-snapshot","version":9,"meta":{},"outputs":[]}')], 2, /format version 9 is not supported/],
    ['a bad --netns', ['hooks', '--netns', '../x'], 2, /invalid --netns "\.\.\/x"/],
    ['an unknown --netns', ['hooks', '--netns', 'ni-no-such-netns'], 2, /no such network namespace/],
    ['a --dev that matches nothing', ['hooks', '--snapshot', 'testdata/reference/node1.json', '--dev', 'eht0'], 2, /no device matches --dev "eht0"/],
    ['--netns with --snapshot', ['hooks', '--netns', 'x', '--snapshot', 'y'], 2, /cannot also be provided when using/],
  ]
  function write(name: string, text: string): string {
    writeFileSync(`${dir}/${name}`, text)
    return `${dir}/${name}`
  }
  for (const [name, args, code, re] of cases) {
    it(name, () => {
      const r = cli(args)
      expect(r.status).toBe(code)
      expect(r.stderr).toMatch(re)
      expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
      expect(r.stdout).toBe('')
    })
  }
})
