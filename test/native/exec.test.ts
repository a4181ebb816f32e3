// `nodeinspect-bpf exec --sndbuf N -- TOOL`: a dump's tool writes into a socket buffer that holds the whole dump,
// so it never waits for nodeinspect to read (docs/kernel-notes.md#kn-30-dump-socket-buffer). Against the kernel:
// Node's child stdout is a socketpair, and the control without the helper shows the tool blocked on it.
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {DUMP_SNDBUF_BYTES, spawnSpec} from '../../src/source/spawn-spec.js'
import {ROOT} from '../helpers/fixtures.js'

const helper = bpfHelperPath()
const skip = existsSync(helper) ? '' : `no helper binary at ${helper} (run: make -C native)`
if (skip) console.warn(`test/native/exec.test.ts: skipping: ${skip}`)
const dir = mkdtempSync(join(tmpdir(), 'ni-exec-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** 8 MB, ~40 times the default socket buffer (net.core.wmem_default, 208 KiB). */
const BYTES = 8_000_000

/**
 * Runs `sh -c "head -c BYTES /dev/zero && echo written >&2"`, through `via` (the helper's exec arguments) or plain,
 * with stdout a socketpair that nothing reads for `ms` (a 'readable' listener that reads nothing: Node then leaves
 * the bytes in the socket); resolves with whether the tool had written everything by then, and all it printed.
 */
function writesUnread(via: string[], ms: number): Promise<{written: boolean; bytes: number; code: number | null}> {
  const sh = ['sh', '-c', `head -c ${BYTES} /dev/zero && echo written >&2`]
  return new Promise((resolve) => {
    const sub = via.length > 0 ? spawn(helper, [...via, ...sh]) : spawn(sh[0]!, sh.slice(1))
    let err = ''
    sub.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    const idle = () => {}
    sub.stdout.on('readable', idle)
    setTimeout(() => {
      const written = err.includes('written')
      let bytes = 0
      sub.stdout.off('readable', idle)
      sub.stdout.on('data', (d: Buffer) => (bytes += d.length))
      sub.on('close', (code) => resolve({written, bytes, code}))
    }, ms)
  })
}

describe.skipIf(skip !== '')('nodeinspect-bpf exec', () => {
  it('lets a tool print a dump 40 times the default buffer and exit before anything reads it; without it the tool waits', async () => {
    const deep = await writesUnread(['exec', '--sndbuf', String(DUMP_SNDBUF_BYTES), '--'], 1500)
    const plain = await writesUnread([], 1500)
    expect(deep).toEqual({written: true, bytes: BYTES, code: 0})
    expect(plain).toEqual({written: false, bytes: BYTES, code: 0})
  })

  it('runs the tool in its own place (same pid: a timeout kill reaches it), with its arguments and exit status', () => {
    const r = spawnSync(helper, ['exec', '--sndbuf', '1048576', '--', 'sh', '-c', 'echo "$$ $1"; exit 3', 'sh', 'arg with space'], {encoding: 'utf8'})
    expect(r.status).toBe(3)
    expect(r.stdout).toBe(`${r.pid} arg with space\n`)
  })

  it('says a missing tool the way nsenter does (127, "No such file or directory"), and usage errors on stderr only', () => {
    const missing = spawnSync(helper, ['exec', '--sndbuf', '1048576', '--', 'nodeinspect-no-such-tool'], {encoding: 'utf8'})
    expect(missing.status).toBe(127)
    expect(missing.stdout).toBe('')
    expect(missing.stderr).toMatch(/^nodeinspect-bpf exec: nodeinspect-no-such-tool: No such file or directory\n$/)
    for (const args of [['exec'], ['exec', '--sndbuf', 'lots', '--', 'true'], ['exec', '--sndbuf', '0', '--', 'true'], ['exec', '--sndbuf', '1048576', 'true'], ['exec', '--sndbuf', '1048576', '--']]) {
      const r = spawnSync(helper, args, {encoding: 'utf8'})
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stdout, args.join(' ')).toBe('')
      expect(r.stderr, args.join(' ')).toMatch(/^nodeinspect-bpf exec: .*\(usage: exec --sndbuf BYTES -- TOOL \[ARG\.\.\.\]\)\n$/)
    }
  })
})

describe('a dump run through the helper', () => {
  it('is the tool after `exec --sndbuf N --`, inside nsenter for a netns', () => {
    const deep = ['exec', '--sndbuf', String(64 * 1024 * 1024), '--', 'iptables-save', '-t', 'nat']
    expect(spawnSpec(undefined, 'iptables-save', ['-t', 'nat'], '/h/nodeinspect-bpf')).toEqual({file: '/h/nodeinspect-bpf', args: deep})
    expect(spawnSpec('/run/netns/a', 'iptables-save', ['-t', 'nat'], '/h/nodeinspect-bpf')).toEqual({file: 'nsenter', args: ['--net=/run/netns/a', '--', '/h/nodeinspect-bpf', ...deep]})
    expect(spawnSpec('/run/netns/a', 'iptables-save', [])).toEqual({file: 'nsenter', args: ['--net=/run/netns/a', '--', 'iptables-save']})
  })

  it.skipIf(skip !== '')('by LiveSource: a missing tool is reported missing; a helper without exec (an older one) makes it run plain', () => {
    const old = join(dir, 'old-helper.sh')
    writeFileSync(old, `#!/bin/sh\nif [ "$1" = exec ]; then echo "nodeinspect-bpf: unknown subcommand 'exec' (query, version)" >&2; exit 2; fi\nexec ${helper} "$@"\n`)
    chmodSync(old, 0o755)
    const script = join(dir, 'live.mjs')
    writeFileSync(
      script,
      `const {LiveSource} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/source/live.js')).href)})
       const src = new LiveSource()
       const missing = await src.run({argv: ['nodeinspect-no-such-tool'], deepOutput: true})
       const echo = await src.run({argv: ['sh', '-c', 'echo dump'], deepOutput: true})
       console.log(JSON.stringify({missing: [missing.failure, missing.message], echo: [echo.failure ?? null, echo.stdout]}))`,
    )
    const run = (h: string) => {
      const r = spawnSync(process.execPath, [script], {encoding: 'utf8', env: {...process.env, NODEINSPECT_BPF_HELPER: h}})
      expect(r.status, r.stderr).toBe(0)
      return JSON.parse(r.stdout) as {missing: unknown[]; echo: unknown[]}
    }
    for (const h of [helper, old]) {
      const r = run(h)
      expect(r.missing, h).toEqual(['missing-binary', 'nodeinspect-no-such-tool: nodeinspect-no-such-tool is not installed (not found in PATH)'])
      expect(r.echo, h).toEqual([null, 'dump\n'])
    }
  })
})
