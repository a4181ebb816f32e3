// Program code read by the helper (one process) or by bpftool (the fallback), and snapshots of either replayed.
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {summariseProgram} from '../../src/bpf/interpreter.js'
import type {ProgramSummary} from '../../src/model/program-summary.js'
import type {Warning} from '../../src/model/warning.js'
import {readSkBuffLayout} from '../../src/probes/btf-sk-buff.js'
import {collectBpfHelperProgDump, parseBpfHelperProgDump} from '../../src/probes/bpf-helper-prog-dump.js'
import {collectBpftoolXlated, parseBpftoolXlatedDumps} from '../../src/probes/bpftool-xlated.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {RecordingSource, SnapshotSource} from '../../src/source/snapshot.js'
import {commandLine, type RawOutput, type RunRequest, type Source} from '../../src/source/types.js'
import {readProgramCode} from '../../src/state/program-code.js'
import {liveSource} from '../../src/state/sources.js'
import {bpfLoadSkipReason, mountTestBpffs, mustRun, type TestBpffs} from '../helpers/bpffs.js'
import {ROOT, testdata} from '../helpers/fixtures.js'

const MARK = 164
const helperJson = testdata('bpf/prog-dump/helper.json')
const bpftoolJson = JSON.parse(testdata('bpf/prog-dump/bpftool.json')) as Record<string, {name: string; bpftool: unknown}>
const ids = Object.keys(bpftoolJson).map(Number).sort((a, b) => a - b)
const progs = ids.map((id) => ({id, name: bpftoolJson[id]!.name}))

const ok = (argv: readonly string[], stdout: string): RawOutput => ({argv: [...argv], stdout, stderr: '', exitCode: 0, durationMs: 1})

/** A source answering from a table of command lines; anything else is whatever `otherwise` says. */
function fake(answers: Record<string, (argv: readonly string[]) => RawOutput>, otherwise: (argv: readonly string[]) => RawOutput): Source & {asked: string[]} {
  const asked: string[] = []
  return {
    asked,
    meta: {kind: 'live'},
    run: async (req: RunRequest) => {
      const line = commandLine(req.argv)
      asked.push(line)
      return (answers[line] ?? otherwise)(req.argv)
    },
  }
}

const helperLine = `nodeinspect-bpf prog-dump ${ids.join(' ')}`
/** bpftool answering every `id N` dump from the capture (the collector asks per name or id; `name` runs fail here and are redone per id). */
const bpftoolAnswers = (argv: readonly string[]): RawOutput => {
  const m = /^bpftool -j prog dump xlated id (\d+)$/.exec(commandLine(argv))
  if (m) return ok(argv, JSON.stringify(bpftoolJson[m[1]!]!.bpftool))
  return {argv: [...argv], stdout: '', stderr: 'no', exitCode: 255, failure: 'exit', message: `${commandLine(argv)}: exit 255`, durationMs: 1}
}

async function read(src: Source): Promise<{code: Map<number, ProgramSummary>; warnings: Warning[]}> {
  const code = new Map<number, ProgramSummary>()
  const warnings: Warning[] = []
  await readProgramCode(src, progs, MARK, code, warnings)
  return {code, warnings}
}

describe('readProgramCode: the helper first, bpftool when it cannot', () => {
  it('with the helper: one process for every program, and the summaries bpftool gives', async () => {
    const src = fake({[helperLine]: (a) => ok(a, helperJson)}, bpftoolAnswers)
    const viaHelper = await read(src)
    expect(src.asked).toEqual([helperLine])
    expect(viaHelper.warnings).toEqual([])
    const viaBpftool = await read(fake({}, (a) => (a[0] === 'nodeinspect-bpf' ? {...ok(a, ''), exitCode: null, failure: 'not-recorded'} : bpftoolAnswers(a))))
    expect(viaBpftool.warnings).toEqual([])
    expect(viaHelper.code.size).toBe(ids.length)
    expect([...viaHelper.code.entries()].sort(([a], [b]) => a - b)).toEqual([...viaBpftool.code.entries()].sort(([a], [b]) => a - b))
  })

  const fallbacks: Array<[string, (argv: readonly string[]) => RawOutput, RegExp | undefined]> = [
    ['not built', (a) => ({argv: [...a], stdout: '', stderr: '', exitCode: null, failure: 'missing-binary', message: 'nodeinspect-bpf is not installed', durationMs: 0}), /program code: the nodeinspect-bpf helper is not built \(npm run build needs gcc\): read with bpftool instead/],
    ['built before prog-dump', (a) => ({argv: [...a], stdout: '{"error":"unknown subcommand \'prog-dump\' (query, tcx-attach, netns-dump, version)"}', stderr: '', exitCode: 2, failure: 'exit', message: 'exit 2', durationMs: 0}), /not built with prog-dump \(an older build\)/],
    ['failed', (a) => ({argv: [...a], stdout: '', stderr: 'killed', exitCode: null, failure: 'timeout', message: 'nodeinspect-bpf prog-dump …: timed out after 60000 milliseconds', durationMs: 0}), /program code: nodeinspect-bpf prog-dump …: timed out after 60000 milliseconds: read with bpftool instead/],
    ['printed something else', (a) => ok(a, '{"helper":"nodeinspect-bpf","version":7}'), /program code: unknown helper output .*: read with bpftool instead/],
    ['not in an older snapshot: no warning', (a) => ({argv: [...a], stdout: '', stderr: '', exitCode: null, failure: 'not-recorded', message: 'not in the snapshot', durationMs: 0}), undefined],
  ]
  for (const [what, helper, warning] of fallbacks) {
    it(`helper ${what}: bpftool reads the programs${warning ? ', and a warning says so' : ''}`, async () => {
      const src = fake({}, (a) => (a[0] === 'nodeinspect-bpf' ? helper(a) : bpftoolAnswers(a)))
      const r = await read(src)
      expect(r.code.size).toBe(ids.length)
      expect(src.asked.filter((l) => l.startsWith('bpftool')).length).toBeGreaterThan(0)
      if (warning) {
        expect(r.warnings).toHaveLength(1)
        expect(r.warnings[0]!.probe).toBe('nodeinspect-bpf prog-dump')
        expect(r.warnings[0]!.message).toMatch(warning)
      } else expect(r.warnings).toEqual([])
    })
  }

  it('programs the helper could not read are warnings, and are not asked of bpftool again', async () => {
    const out = '{"helper":"nodeinspect-bpf","version":1,"programs":[{"id":1,"error":"missing","errno":2,"message":"BPF_PROG_GET_FD_BY_ID 1: No such file or directory (unloaded)"}]}'
    const src = fake({'nodeinspect-bpf prog-dump 1': (a) => ok(a, out)}, bpftoolAnswers)
    const code = new Map<number, ProgramSummary>()
    const warnings: Warning[] = []
    await readProgramCode(src, [{id: 1, name: 'gone'}], MARK, code, warnings)
    expect(src.asked).toEqual(['nodeinspect-bpf prog-dump 1'])
    expect(code.size).toBe(0)
    expect(warnings).toEqual([{probe: 'nodeinspect-bpf prog-dump', kind: 'exit', message: 'BPF_PROG_GET_FD_BY_ID 1: No such file or directory (unloaded)'}])
  })
})

// ---- live: the programs loaded here, read both ways; recorded and replayed --------------------------------------

function liveSkipReason(): string {
  return bpfLoadSkipReason() || (existsSync(bpfHelperPath()) ? '' : `no helper binary at ${bpfHelperPath()} (run: make -C native)`)
}
const SKIP = liveSkipReason()
if (SKIP) console.log(`program code live tests skipped: ${SKIP}`)

/** testdata/bpf (one program per object) and the lab's Cilium-like objects (tail calls, maps, several programs each). */
const OBJECTS = [
  ...['set_mark', 'or_mark', 'xmark', 'redirect', 'tail_call', 'subprog'].map((n) => ({pin: n, src: `testdata/bpf/${n}.c`, cflags: [] as string[], type: 'classifier'})),
  {pin: 'or_mark_v3', src: 'testdata/bpf/or_mark.c', cflags: ['-mcpu=v3'], type: 'classifier'},
  ...['bpf_lxc', 'bpf_overlay', 'bpf_netdev', 'bpf_to_container', 'bpf_foreign'].map((n) => ({pin: n, src: `lab/bpf/${n}.c`, cflags: ['-DNI_NODE=1', '-DNI_NO_PIN'], type: 'classifier'})),
  {pin: 'bpf_xdp', src: 'lab/bpf/bpf_xdp.c', cflags: ['-DNI_NODE=1', '-DNI_NO_PIN', '-DNI_XDP'], type: 'xdp'},
]

describe.skipIf(SKIP !== '')(`live: the helper and bpftool on programs loaded here (${SKIP || 'root, clang, bpftool, helper'})`, () => {
  let bpffs = ''
  let fs: TestBpffs | undefined
  let objDir = ''
  const loaded: Array<{id: number; name: string}> = []
  const run = mustRun

  beforeAll(async () => {
    fs = await mountTestBpffs('-code')
    bpffs = fs.path
    objDir = mkdtempSync(join(tmpdir(), 'nodeinspect-code-'))
    const queue = [...OBJECTS]
    const compile = async (): Promise<void> => {
      for (let o = queue.shift(); o; o = queue.shift()) await run(['clang', '-O2', '-g', '-Wall', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', ...o.cflags, '-c', join(ROOT, o.src), '-o', join(objDir, `${o.pin}.o`)])
    }
    await Promise.all([compile(), compile()])
    for (const o of OBJECTS) {
      mkdirSync(`${bpffs}/${o.pin}`)
      await run(['bpftool', 'prog', 'loadall', join(objDir, `${o.pin}.o`), `${bpffs}/${o.pin}`, 'type', o.type])
      for (const f of readdirSync(`${bpffs}/${o.pin}`)) {
        const info = JSON.parse((await run(['bpftool', '-j', 'prog', 'show', 'pinned', `${bpffs}/${o.pin}/${f}`])).stdout) as {id: number; name: string}
        loaded.push({id: info.id, name: info.name})
      }
    }
  }, 180_000)

  afterAll(async () => {
    // Always, also after a half-done beforeAll: unmounting the bpffs unpins (and so frees) every program.
    await fs?.unmount()
    if (objDir) rmSync(objDir, {recursive: true, force: true})
  })

  it('every program: the same summary from the helper as from bpftool, and the same instructions (the proto bpftool adds aside)', async () => {
    expect(loaded.length).toBeGreaterThanOrEqual(OBJECTS.length)
    const markOffset = (await readSkBuffLayout()).facts.mark!.offsetBytes
    const live = liveSource()
    const viaBpftool = parseBpftoolXlatedDumps(await collectBpftoolXlated(live, loaded))
    expect(viaBpftool.warnings).toEqual([])
    expect(viaBpftool.problems).toEqual([])

    const asked: string[] = []
    const counting: Source = {meta: live.meta, run: (req) => (asked.push(commandLine(req.argv)), live.run(req))}
    const code = new Map<number, ProgramSummary>()
    const warnings: Warning[] = []
    await readProgramCode(counting, loaded, markOffset, code, warnings)
    expect(asked).toHaveLength(1)
    expect(asked[0]).toMatch(/^nodeinspect-bpf prog-dump( \d+)+$/)
    expect(warnings).toEqual([])
    expect(code.size).toBe(loaded.length)
    const helperDump = parseBpfHelperProgDump((await collectBpfHelperProgDump(live, loaded.map((p) => p.id))).stdout)
    expect(helperDump.problems).toEqual([])
    for (const p of loaded) {
      const insns = viaBpftool.programs.find((x) => x.id === p.id)!.insns
      expect(code.get(p.id), `${p.name} (id ${p.id})`).toEqual(summariseProgram(insns, {markOffset}))
      expect(helperDump.facts.programs.find((x) => x.id === p.id)!.insns, `${p.name} (id ${p.id})`).toEqual(insns.map(({proto: _proto, ...rest}) => rest))
    }
    const all = [...code.values()]
    expect(all.some((s) => s.helpers.includes('bpf_tail_call') && s.mapIds.length > 0)).toBe(true)
    expect(all.some((s) => s.writes.length > 0)).toBe(true)
  })

  it('recorded through the helper, a snapshot replays the same summaries without running anything', async () => {
    const markOffset = (await readSkBuffLayout()).facts.mark!.offsetBytes
    const rec = new RecordingSource(liveSource())
    const live = new Map<number, ProgramSummary>()
    const w1: Warning[] = []
    await readProgramCode(rec, loaded, markOffset, live, w1)
    const snap = rec.toSnapshot()
    expect(snap.outputs.map((o) => o.argv[1])).toEqual(['prog-dump'])

    const replay = new SnapshotSource(JSON.parse(JSON.stringify(snap)))
    const asked: string[] = []
    const counting: Source = {meta: replay.meta, run: (req) => (asked.push(commandLine(req.argv)), replay.run(req))}
    const again = new Map<number, ProgramSummary>()
    const w2: Warning[] = []
    // Asked in another order: the argv is sorted, so the same snapshot key.
    await readProgramCode(counting, [...loaded].reverse(), markOffset, again, w2)
    expect(w2).toEqual(w1)
    expect(asked).toEqual([snap.outputs[0]!.argv.join(' ')])
    expect(again).toEqual(live)
  })
})
