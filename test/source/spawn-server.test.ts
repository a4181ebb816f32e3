// The helper's spawn server (native/spawn-server.c, src/source/spawn-server.ts) starts the tools node would
// otherwise fork itself. Each run through it must give exactly what a direct spawn gives: output, errors, exit
// status, signals, input, environment, a missing tool, a timeout's group kill; and a server that ends must not
// lose a run. `npm test` builds the helper first.
import {existsSync} from 'node:fs'
import {afterAll, describe, expect, it} from 'vitest'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {runCommand, type SpawnSpec} from '../../src/source/run-command.js'
import {encodeSpawnRequest, SpawnServer} from '../../src/source/spawn-server.js'
import type {RawOutput} from '../../src/source/types.js'
import {groupMembers} from '../helpers/proc-groups.js'

const helper = bpfHelperPath()
const servers: SpawnServer[] = []
afterAll(() => {
  for (const s of servers) if (s.alive && s.pid !== undefined) process.kill(s.pid, 'SIGTERM')
})

function newServer(path = helper): SpawnServer {
  const s = new SpawnServer(path)
  servers.push(s)
  return s
}

const sh = (script: string, extra: Partial<SpawnSpec> = {}): SpawnSpec => ({file: 'sh', args: ['-c', script], logicalArgv: ['sh', '-c', script], ...extra})

/** Whether process group `pgid` has no live member within 2 s (a killed member dies a moment after the tool's exit). */
async function groupGone(pgid: number): Promise<boolean> {
  for (let i = 0; i < 100 && groupMembers(pgid).length > 0; i++) await new Promise((r) => setTimeout(r, 20))
  return groupMembers(pgid).length === 0
}

/** What a run gives, but for how long it took. */
function result(o: RawOutput): Omit<RawOutput, 'durationMs'> {
  const {durationMs: _, ...rest} = o
  return rest
}

describe('encodeSpawnRequest', () => {
  it('lays out a request as spawn-server.c reads it', () => {
    const b = encodeSpawnRequest(7, ['ip', 'é'], {A: '1', SKIPPED: undefined}, 'in')
    const body = Buffer.concat([Buffer.from([7, 0, 0, 0, 1, 2, 0, 0, 0]), Buffer.from('ip\0é\0'), Buffer.from([1, 0, 0, 0]), Buffer.from('A=1\0'), Buffer.from([2, 0, 0, 0]), Buffer.from('in')])
    expect(b.readUInt32LE(0)).toBe(body.length)
    expect(b.subarray(4)).toEqual(body)
  })
})

describe.skipIf(!existsSync(helper))('runs through the spawn server', () => {
  it('each gives what a direct spawn gives', async () => {
    const server = newServer()
    const big = 'x'.repeat(300_000)
    process.env.NI_SPAWN_TEST_VAR = `set after the server started ${process.pid}`
    const specs: SpawnSpec[] = [
      sh('echo out; echo err >&2; exit 3'),
      sh('echo partial; kill -TERM $$'),
      {file: 'no-such-tool-for-nodeinspect', args: ['x'], logicalArgv: ['no-such-tool-for-nodeinspect', 'x']},
      // Input larger than a pipe holds, read back whole (the server writes it as the tool reads).
      {file: 'cat', args: [], logicalArgv: ['cat'], input: big},
      // 5 MB of output, in many of the server's 64 KiB pieces.
      sh('head -c 5000000 /dev/zero | tr "\\0" a'),
      // Two-byte characters across piece boundaries.
      sh('awk \'BEGIN { for (i = 0; i < 100000; i++) printf "é" }\''),
      // The environment as it is when the run starts, in the C locale.
      sh('echo "$LC_ALL|$NI_SPAWN_TEST_VAR"'),
      sh('exit 1', {okExitCodes: [1]}),
    ]
    for (const spec of specs) {
      const via = await runCommand(spec, undefined, server)
      const direct = await runCommand(spec, undefined, 'direct')
      expect(result(via), spec.args.join(' ')).toEqual(result(direct))
    }
    const last = await runCommand(sh('echo "$LC_ALL|$NI_SPAWN_TEST_VAR"'), undefined, server)
    expect(last.stdout).toBe(`C|set after the server started ${process.pid}\n`)
    const missing = await runCommand(specs[2]!, undefined, server)
    expect(missing).toMatchObject({failure: 'missing-binary', exitCode: null})
    const killed = await runCommand(specs[1]!, undefined, server)
    expect(killed).toMatchObject({failure: 'exit', exitCode: null, stdout: 'partial\n', message: 'sh -c "echo partial; kill -TERM $$": killed by SIGTERM'})
    const utf = await runCommand(specs[5]!, undefined, server)
    expect(utf.stdout).toBe('é'.repeat(100_000))
    delete process.env.NI_SPAWN_TEST_VAR
  })

  it('the server, not this process, is the tool\'s parent, and the tool leads its own session', async () => {
    const server = newServer()
    const via = await runCommand(sh('echo $PPID $$; ps -o sid= -p $$'), undefined, server)
    const [ppid, pid, sid] = via.stdout.trim().split(/\s+/).map(Number)
    expect(ppid, via.stdout).toBe(server.pid)
    expect(sid).toBe(pid)
    const direct = await runCommand(sh('echo $PPID'), undefined, 'direct')
    expect(Number(direct.stdout.trim())).toBe(process.pid)
  })

  it('40 runs at once each get their own output', async () => {
    const server = newServer()
    const outs = await Promise.all(Array.from({length: 40}, (_, i) => runCommand(sh(`sleep 0.0${i % 10}; echo run ${i}; echo e${i} >&2`), undefined, server)))
    outs.forEach((o, i) => expect([o.stdout, o.stderr, o.failure]).toEqual([`run ${i}\n`, `e${i}\n`, undefined]))
  })

  it('a timeout kills the tool\'s whole group', async () => {
    const server = newServer()
    const t0 = performance.now()
    const out = await runCommand(sh('echo $$; sleep 30 & sleep 30', {timeoutMs: 300}), undefined, server)
    expect(out.failure).toBe('timeout')
    expect(performance.now() - t0).toBeLessThan(3000)
    expect(await groupGone(Number(out.stdout.trim()))).toBe(true)
  })

  // SIGTERM: the server kills its tools' groups as it ends. SIGKILL (a crash): it kills nothing, this process does.
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`a server ended by ${signal}: the tool it ran is killed, its run fails with the cause; later runs do not wait for it`, async () => {
      const server = newServer()
      const running = runCommand(sh('echo $$; sleep 30'), undefined, server)
      await new Promise((r) => setTimeout(r, 200))
      process.kill(server.pid!, signal)
      const out = await running
      expect(out).toMatchObject({failure: 'spawn', message: expect.stringContaining('the spawn helper ended while the tool ran')})
      expect(await groupGone(Number(out.stdout.trim()))).toBe(true)
      expect(server.alive).toBe(false)
      // A server that is gone starts nothing: the run is spawned directly.
      expect((await runCommand(sh('echo after'), undefined, server)).stdout).toBe('after\n')
    })
  }

  it('a helper without the server (an older build): every run is spawned directly', async () => {
    const server = newServer('/bin/false')
    const outs = await Promise.all([runCommand(sh('echo one'), undefined, server), runCommand(sh('echo two'), undefined, server)])
    expect(outs.map((o) => o.stdout)).toEqual(['one\n', 'two\n'])
  })
})
