// The lab commands as a user runs them (built CLI): what needs no privileges and changes nothing.
import {describe, expect, it} from 'vitest'
import {runCommand} from '../../src/source/run-command.js'
import {cli} from '../helpers/cli.js'
import {ROOT} from '../helpers/fixtures.js'

const unused = `nilab-c${process.pid}`

describe('nodeinspect lab (built CLI)', () => {
  it('lab status --json on a lab that is not up: {"up":false}, exit 0', () => {
    const r = cli(['lab', 'status', '--prefix', unused, '--json'])
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({up: false, prefix: unused})
  })

  it('lab status says so in words, with the prefix from NODEINSPECT_LAB_PREFIX', () => {
    const r = cli(['lab', 'status'], {env: {NODEINSPECT_LAB_PREFIX: unused}})
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`lab ${unused} is down\n`)
  })

  const bad: Array<[string, string[], RegExp]> = [
    ['a bad --prefix', ['lab', 'up', '--prefix', 'Bad_Prefix'], /^nodeinspect: invalid lab prefix "Bad_Prefix": use 1-20 characters/],
    ['a bad prefix for down', ['lab', 'down', '--prefix', 'x/..'], /^nodeinspect: invalid lab prefix "x\/\.\."/],
    ['an unknown flag', ['lab', 'status', '--nope'], /^nodeinspect: Nonexistent flag: --nope/],
    ['an unknown --variant', ['lab', 'up', '--variant', 'nope'], /^nodeinspect: Expected --variant=nope to be one of: cilium, bridge, routed, iptables-kube-proxy, nft-kube-proxy, policy-routing, notrack, br-netfilter/],
    ['--collide with a CNI variant', ['lab', 'up', '--variant', 'bridge', '--collide', '--prefix', unused], /^nodeinspect: --collide applies to the cilium variant only, not to --variant bridge\n$/],
  ]
  for (const [what, args, re] of bad) {
    it(`${what}: one line on stderr, exit 2`, () => {
      const r = cli(args)
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(re)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  }

  it('--json errors are JSON on stdout too', () => {
    const r = cli(['lab', 'down', '--prefix', 'Bad', '--json'])
    expect(r.status).toBe(2)
    expect(JSON.parse(r.stdout)).toEqual({error: {message: expect.stringMatching(/invalid lab prefix "Bad"/), exit: 2}})
  })

  it.skipIf(process.getuid?.() !== 0)('lab up as an unprivileged user: one line, exit 2, nothing created', async () => {
    // Only CAP_DAC_READ_SEARCH is kept (ambient, so it survives exec): nobody may read the checkout even where it
    // sits in a directory closed to others (a clone under /root, mode 700); it grants nothing the lab needs.
    const argv = ['env', 'HOME=/tmp', 'NO_COLOR=1', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search', process.execPath, `${ROOT}bin/run.js`, 'lab', 'up', '--prefix', unused]
    const r = await runCommand({file: argv[0]!, args: argv.slice(1), logicalArgv: argv, timeoutMs: 60_000})
    expect(r.exitCode).toBe(2)
    expect(r.stderr.trim()).toBe('nodeinspect: lab up must run as root: it creates or deletes network namespaces, mounts a bpffs and loads BPF programs')
  })
})
