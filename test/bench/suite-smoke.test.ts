// The benchmark suite (bench/run.mjs, `npm run bench`) at toy sizes: it runs every case, writes well-formed
// results, and leaves no namespace or bpffs behind, also when interrupted. Its timings mean nothing here and are
// not checked; the budgets' verdicts only have to be there. The verdict arithmetic is checked without the kernel.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {Budgets} from '../../bench/report.mjs'
import {ROOT} from '../helpers/fixtures.js'

const SUITE = join(ROOT, 'bench/run.mjs')

function skipReason(): string {
  if (process.env.NI_SKIP_KERNEL === '1') return 'NI_SKIP_KERNEL=1'
  return execFileSync(process.execPath, [SUITE, '--check'], {encoding: 'utf8'}).trim()
}
const SKIP = skipReason()
if (SKIP) console.log(`benchmark suite smoke test skipped: ${SKIP}`)

/** What a run of the suite with pid `pid` may have left: its netns and its bpffs directory. */
function leftovers(pid: number): string[] {
  const ns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`ni-t${pid}-bench-`)) : []
  return [...ns, ...(existsSync(`/run/nodeinspect-bench-${pid}`) ? [`/run/nodeinspect-bench-${pid}`] : [])]
}

interface Run {
  pid: number
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the suite; `interruptWhen` sends SIGINT once stderr contains it. */
function suite(args: string[], interruptWhen?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SUITE, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let sent = false
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d
      if (interruptWhen && !sent && stderr.includes(interruptWhen)) {
        sent = true
        // Still up at this moment: what the interrupt must remove.
        expect(leftovers(child.pid!).length).toBeGreaterThan(0)
        child.kill('SIGINT')
      }
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({pid: child.pid!, code, stdout, stderr}))
  })
}

interface Results {
  schema: string
  options: {rounds: number; smoke: boolean}
  machine: Record<string, unknown> & {loadavgStart: number[]; loadavgEnd: number[]}
  commands: Array<{id: string; label: string; wallS: number[]; rssKB: number[]; errors: string[]; answer?: string}>
  counts: Array<{id: string; execs: number; byProgram: Record<string, number>}>
  budgets: Array<{text: string; result: string}>
  summary: {met: number; missed: number}
}

describe.skipIf(SKIP !== '')(`benchmark suite --smoke (${SKIP || 'root'})`, () => {
  const out = mkdtempSync(join(tmpdir(), 'nodeinspect-bench-test-'))
  afterAll(() => rmSync(out, {recursive: true, force: true}))

  it('runs every case, writes RESULTS.md and results.json from its measurements, and removes what it built', async () => {
    const r = await suite(['--smoke', '--out', out])
    expect(r.code, r.stderr).toBe(0)
    expect(leftovers(r.pid)).toEqual([])
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results
    expect(res.schema).toBe('nodeinspect.bench/v1')
    expect(res.options).toMatchObject({rounds: 1, smoke: true})
    for (const k of ['cpu', 'cores', 'kernel', 'node', 'iptables', 'iptablesLegacy', 'nft', 'bpftool']) expect(res.machine[k], k).toBeTruthy()
    expect(res.machine.loadavgStart).toHaveLength(3)
    expect(res.machine.loadavgEnd).toHaveLength(3)
    // Every command ran, and every nodeinspect --json answer is one of its schemas.
    expect(res.commands.length).toBeGreaterThanOrEqual(20)
    for (const c of res.commands) {
      expect(c.errors, c.id).toEqual([])
      expect(c.wallS, c.id).toHaveLength(1)
      expect(c.rssKB[0], c.id).toBeGreaterThan(0)
      if (/^(marks|hooks|trace).*--json/.test(c.label)) expect(c.answer, c.id).toMatch(/^nodeinspect\.(marks|hooks|trace)\/v\d/)
    }
    expect(res.commands.find((c) => c.id === 'pods-4:marks-json')?.answer).toMatch(/, 4 mark uses,/)
    for (const c of res.counts) expect(c.execs, c.id).toBeGreaterThan(0)
    // Every budget of issue 10 has a verdict, and the last line says how many were met.
    expect(res.budgets).toHaveLength(27)
    for (const b of res.budgets) expect(['PASS', 'FAIL'], b.text).toContain(b.result)
    expect(res.summary.met + res.summary.missed).toBe(27)
    expect(r.stdout.trim().split('\n').pop()).toBe(`${res.summary.met} budgets met, ${res.summary.missed} missed`)
    const md = readFileSync(join(out, 'RESULTS.md'), 'utf8')
    for (const h of ['# nodeinspect benchmark results', '## Machine', '## Nodes', `## Budgets (issue 10): ${res.summary.met} met`, '## Every command', '## Processes spawned']) expect(md).toContain(h)
    for (const b of res.budgets) expect(md).toContain(b.text.replaceAll('|', '\\|'))
    expect(md).toContain('Smoke run at toy sizes')
  }, 600_000)

  it('--only pods: start-up and the pods, their budgets only, and says so', async () => {
    const r = await suite(['--smoke', '--only', 'pods', '--out', join(out, 'only')])
    expect(r.code, r.stderr).toBe(0)
    expect(leftovers(r.pid)).toEqual([])
    const res = JSON.parse(readFileSync(join(out, 'only/results.json'), 'utf8')) as Results & {options: {only?: string[]}}
    expect(res.options.only).toEqual(['pods'])
    expect([...new Set(res.commands.map((c) => c.id.split(':')[0]))]).toEqual(['startup', 'pods-2', 'pods-4'])
    expect(res.budgets.map((b) => b.text)).toEqual([
      '`marks --json`: 2 → 4 pods ≤ 11×',
      '`hooks`: 2 → 4 pods ≤ 11×',
      '`hooks --json`: 2 → 4 pods ≤ 11×',
      '`marks --json`, 4 pods: ≤ 3 s',
      '`hooks` (table), 4 pods: ≤ 1 s',
      '`hooks --json`, 4 pods: ≤ 2× `bpftool -j net show` + 0.4 s',
      '`marks --json`: processes spawned, 2 → 4 pods (devices, programs)',
      '`hooks --json`: processes spawned, 2 → 4 pods (devices, programs)',
      'start-up (`--version`): ≤ 1.2× a bare oclif 4 CLI',
    ])
    expect(readFileSync(join(out, 'only/RESULTS.md'), 'utf8')).toContain('Only start-up and pods were measured')
  }, 600_000)

  it('removes its namespaces and bpffs when interrupted (Ctrl-C)', async () => {
    const r = await suite(['--smoke', '--out', join(out, 'interrupted')], '2 pods: set up')
    expect(r.code, r.stderr).toBe(130)
    expect(r.stderr).toContain('SIGINT: removing what the suite created')
    expect(leftovers(r.pid)).toEqual([])
    expect(existsSync(join(out, 'interrupted/results.json'))).toBe(false)
  }, 600_000)
})

describe('benchmark suite verdicts', () => {
  const cmd = (id: string, wallS: number[], rssKB = [1024]) => ({id, label: id, wallS, rssKB, errors: [] as string[]})

  it('checks a ratio against the median of the anchor, with what is added to it', () => {
    const b = new Budgets([cmd('a', [1.2, 1.0, 5]), cmd('save', [1, 0.9, 1.1]), cmd('up', [0.2])], [])
    b.time({text: 'a ≤ 1.3× save', subject: 'a', anchor: 'save', factor: 1.3})
    b.time({text: 'a ≤ 1× save + up', subject: 'a', anchor: 'save', factor: 1, plusCmd: 'up'})
    b.time({text: 'a ≤ 1× save + 0.1 s', subject: 'a', anchor: 'save', factor: 1, plusS: 0.1})
    expect(b.list.map((x) => [x.result, x.ratio, x.limit])).toEqual([
      ['PASS', 1.2, 1.3],
      ['PASS', 1.2, 1.2],
      ['FAIL', 1.2, 1.1],
    ])
    expect([b.met, b.missed]).toEqual([2, 1])
  })

  it('misses a budget whose command failed, and says which', () => {
    const broken = {...cmd('a', []), errors: ['exit 3: nodeinspect: marks: no source of mark use could be read']}
    const b = new Budgets([broken, cmd('save', [1])], [])
    b.time({text: 't', subject: 'a', anchor: 'save', factor: 2})
    expect(b.list[0]).toMatchObject({result: 'FAIL', error: expect.stringContaining('exit 3')})
  })

  it('growth, peak RSS, and processes that must not change, with the programs that did', () => {
    const counts = [
      {id: 's', label: 's', execs: 40, byProgram: {bpftool: 3, nsenter: 37}},
      {id: 'l', label: 'l', execs: 44, byProgram: {bpftool: 5, nsenter: 39}},
    ]
    const b = new Budgets([cmd('small', [0.5]), cmd('large', [5.6], [200 * 1024, 310 * 1024])], counts)
    b.growth({text: 'g', small: 'small', large: 'large', factor: 11})
    b.rss({text: 'r', subject: 'large', limitMB: 300})
    b.constant({text: 'c', small: 's', large: 'l'})
    b.constant({text: 'c2', small: 's', large: 's'})
    expect(b.list.map((x) => x.result)).toEqual(['FAIL', 'FAIL', 'FAIL', 'PASS'])
    expect(b.list[2]!.note).toBe('differ: bpftool 3 → 5, nsenter 37 → 39')
  })
})
