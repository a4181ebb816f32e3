import {describe, expect, it} from 'vitest'
import {classifyRun, runCommand} from '../../src/source/run-command.js'
import {liveSource} from '../../src/state/sources.js'

describe('classifyRun', () => {
  const base = {stdout: '', stderr: '', timedOut: false}
  it('accepts exit 0 and listed exit codes', () => {
    expect(classifyRun({...base, exitCode: 0})).toEqual({})
    expect(classifyRun({...base, exitCode: 1, okExitCodes: [1]})).toEqual({})
  })
  it('names the cause', () => {
    expect(classifyRun({...base, exitCode: null, errorCode: 'ENOENT'}).failure).toBe('missing-binary')
    expect(classifyRun({...base, exitCode: null, timedOut: true}).failure).toBe('timeout')
    expect(classifyRun({...base, exitCode: 255, stdout: '{"error":"can\'t query prog: Operation not permitted"}'})).toEqual({failure: 'permission', cause: "can't query prog: Operation not permitted"})
    expect(classifyRun({...base, exitCode: 2, stderr: 'RTNETLINK answers: No route to host\n'})).toEqual({failure: 'exit', cause: 'RTNETLINK answers: No route to host'})
    // Ended by a signal nodeinspect did not send: the tool ran (an 'exit'), and the signal is named.
    expect(classifyRun({...base, exitCode: null, signal: 'SIGSEGV'})).toEqual({failure: 'exit', cause: 'killed by SIGSEGV'})
    expect(classifyRun({...base, exitCode: null, signal: 'SIGTERM', timedOut: true})).toEqual({failure: 'timeout'})
  })
})

describe('runCommand (real processes)', () => {
  it('runs an argument array, never a shell', async () => {
    const out = await runCommand({file: 'echo', args: ['$HOME', '; ls'], logicalArgv: ['echo', '$HOME', '; ls']})
    expect(out.stdout).toBe('$HOME ; ls\n')
    expect(out.failure).toBeUndefined()
  })
  it('reports a missing binary in one line', async () => {
    const out = await runCommand({file: 'nodeinspect-no-such-tool', args: ['-j'], logicalArgv: ['nodeinspect-no-such-tool', '-j']})
    expect(out.failure).toBe('missing-binary')
    expect(out.message).toBe('nodeinspect-no-such-tool -j: nodeinspect-no-such-tool is not installed (not found in PATH)')
  })
  it('times out', async () => {
    const out = await runCommand({file: 'sleep', args: ['5'], logicalArgv: ['sleep', '5'], timeoutMs: 200})
    expect(out.failure).toBe('timeout')
    expect(out.message).toBe('sleep 5: timed out after 200 milliseconds')
  })
  it('reports a non-zero exit with the first stderr line', async () => {
    const out = await runCommand({file: 'ip', args: ['link', 'show', 'dev', 'nodeinspect-nope'], logicalArgv: ['ip', 'link', 'show', 'dev', 'nodeinspect-nope']})
    expect(out.failure).toBe('exit')
    expect(out.message).toMatch(/^ip link show dev nodeinspect-nope: exit 1: Device "nodeinspect-nope" does not exist\.$/)
  })
  it('passes standard input', async () => {
    const out = await runCommand({file: 'cat', args: [], logicalArgv: ['cat'], input: 'hello\n'})
    expect(out.stdout).toBe('hello\n')
  })
})

describe('LiveSource', () => {
  it('rejects a bad or unknown --netns in one line', () => {
    expect(() => liveSource({netns: '../etc'})).toThrow('invalid --netns "../etc": expected a name from \'ip netns list\'')
    expect(() => liveSource({netns: 'nodeinspect-no-such-ns'})).toThrow('invalid --netns "nodeinspect-no-such-ns": no such network namespace (/run/netns/nodeinspect-no-such-ns does not exist)')
  })
})
