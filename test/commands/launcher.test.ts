// bin/run.js, started as a program, is first a shell script that runs node on itself without NODE_EXTRA_CA_CERTS
// (docs/kernel-notes.md#kn-31-start-up): Node 20 loads that file before any JavaScript, for TLS nodeinspect never
// uses. A file that cannot be loaded makes Node warn on stderr: the warning shows whether it was read at all.
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/fixtures.js'

const run = (argv: string[], env: Record<string, string>) => spawnSync(argv[0]!, argv.slice(1), {cwd: ROOT, encoding: 'utf8', env: {...process.env, ...env}, timeout: 60_000})
const version = /^nodeinspect\/\d+\.\d+\.\d+ linux-\w+ node-v\d+/

describe('bin/run.js as a program', () => {
  it('runs without NODE_EXTRA_CA_CERTS, whatever the caller set, and passes its arguments and exit status', () => {
    const ca = {NODE_EXTRA_CA_CERTS: '/nonexistent/nodeinspect-test-ca.pem'}
    const direct = run([`${ROOT}bin/run.js`, '--version'], ca)
    expect(direct.status, direct.stderr).toBe(0)
    expect(direct.stdout).toMatch(version)
    expect(direct.stderr).toBe('')
    // The control: node on the same file reads the variable (and warns that the file is not there).
    const viaNode = run([process.execPath, `${ROOT}bin/run.js`, '--version'], ca)
    expect(viaNode.status).toBe(0)
    expect(viaNode.stdout).toMatch(version)
    expect(viaNode.stderr).toMatch(/Ignoring extra certs from `\/nonexistent\/nodeinspect-test-ca\.pem`/)
    // Arguments with blanks and quotes reach the CLI whole; its exit status comes back.
    const bad = run([`${ROOT}bin/run.js`, 'trace', "10.0.0.1 'x'", '10.0.0.2:80', '--snapshot', '/nonexistent dir/n.json'], ca)
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toMatch(/^nodeinspect: .*10\.0\.0\.1 'x'|^nodeinspect: .*\/nonexistent dir\/n\.json/)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
  })
})
