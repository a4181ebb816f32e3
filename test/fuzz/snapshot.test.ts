// Fuzzing snapshot loading and the whole path from a snapshot to each command's answer: parseSnapshot on
// mutated snapshot files, then hooks, marks and trace built (collect → analyse → render → JSON) from snapshots
// whose recorded tool outputs are mutated like the parsers' inputs. A snapshot is a file a user hands us:
// whatever it holds, the answer is a report (with warnings) or one clear UserError line, never a stack trace.
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {analyseHooks} from '../../src/analyses/hooks.js'
import {analyseMarks} from '../../src/analyses/marks.js'
import {parseFlow} from '../../src/analyses/path/flow.js'
import {traceFlow} from '../../src/analyses/path/trace.js'
import {markUsagesOf} from '../../src/analyses/mark-uses.js'
import {buildNodeState} from '../../src/state/build.js'
import {traceNodes} from '../helpers/nodes.js'
import {UserError} from '../../src/errors.js'
import {renderHooksTable} from '../../src/render/hooks-table.js'
import {renderMarks} from '../../src/render/marks-table.js'
import {renderTraceDot, renderTraceMermaid} from '../../src/render/trace-graph.js'
import {renderTraceTree} from '../../src/render/trace-tree.js'
import {parseSnapshot, SnapshotSource, type SnapshotFile} from '../../src/source/snapshot.js'
import {applyJsonEdits, applyOps, checkAsync, check, JSON_EDITS, jsonCases, jsonOf, LONG_MODE, OPS, RUNS, TEST_TIMEOUT, textCases, textOf, timed, timedAsync, WRONG, type JsonEdit, type Op} from './kit.js'
import {SNAPSHOT_FILES, snapshot, snapshotText} from './seeds.js'

/** A whole command (collect, analyse, render, serialise) is allowed more than one parser. */
const COMMAND_LIMIT_MS = 3000
/** Commands cost tens of milliseconds each: fewer cases than a parser gets, the same in proportion in the long mode. */
const COMMAND_RUNS = Math.max(10, Math.round(RUNS / 4))

const SEEDS = SNAPSHOT_FILES.map((f) => ({name: f, text: snapshotText(f)}))

/** Only a UserError (one line naming the file) may come out of loading a snapshot. */
function loadOrUserError(text: string): SnapshotFile | undefined {
  try {
    const s = timed(() => parseSnapshot(text, 'f.json'))
    expect(Array.isArray(s.outputs)).toBe(true)
    return s
  } catch (e) {
    if (!(e instanceof UserError)) throw e
    expect(e.message).toMatch(/^snapshot f\.json: /)
    expect(e.message).not.toContain('\n')
    return undefined
  }
}

// ---- mutations of the recorded outputs inside a snapshot ----------------------------------------------------------

interface OutputEdit {
  /** Which recorded output (modulo their count). */
  output: number
  ops: Op[]
  /** Structural edits when the output is JSON. */
  edits: JsonEdit[]
}

interface SnapCase {
  file: number
  outputs: OutputEdit[]
}

const outputEdit: fc.Arbitrary<OutputEdit> = fc.record({
  output: fc.nat(),
  ops: fc.oneof(fc.constant([] as Op[]), OPS),
  edits: fc.oneof(fc.constant([] as JsonEdit[]), JSON_EDITS),
})
const snapCases = (files: readonly number[]): fc.Arbitrary<SnapCase> => fc.record({file: fc.constantFrom(...files), outputs: fc.array(outputEdit, {minLength: 1, maxLength: 4})})

function snapOf(c: SnapCase): SnapshotFile {
  const s = snapshot(SNAPSHOT_FILES[c.file]!)
  for (const e of c.outputs) {
    const o = s.outputs[e.output % s.outputs.length]!
    o.stdout = applyOps(e.edits.length > 0 ? applyJsonEdits(o.stdout, e.edits) : o.stdout, e.ops)
  }
  return s
}

/** Round trip through the file format, so the command sees what loadSnapshot would give it. */
function reload(s: SnapshotFile): SnapshotSource | undefined {
  const loaded = loadOrUserError(JSON.stringify(s))
  return loaded ? new SnapshotSource(loaded, 'f.json') : undefined
}

/** Rendering costs ~0.4 s for marks and trace (cli-table3, ink): one case in five renders, the rest stop at the report. */
const RENDER = fc.oneof({arbitrary: fc.constant(false), weight: 4}, {arbitrary: fc.constant(true), weight: 1})

async function hooksAnswer(src: SnapshotSource, render: boolean): Promise<void> {
  const report = analyseHooks(await buildNodeState(src, {hooks: true}))
  if (render) renderHooksTable(report, undefined, 120)
  JSON.stringify(report)
  expect(Array.isArray(report.devices) && Array.isArray(report.warnings)).toBe(true)
}

async function marksAnswer(src: SnapshotSource, render: boolean): Promise<void> {
  const state = await buildNodeState(src, {marks: true})
  const report = analyseMarks({hostname: src.meta.hostname, kernel: src.meta.kernel, source: 'snapshot'}, markUsagesOf(state), state.warnings, {})
  if (render) renderMarks(report, undefined, 140)
  JSON.stringify(report)
}

const FLOW = parseFlow({src: '10.42.1.80', dst: '10.42.0.51:80'})

async function traceAnswer(srcs: SnapshotSource[], render: boolean): Promise<void> {
  const {nodes, oracle} = await traceNodes(srcs)
  const report = await traceFlow(nodes, FLOW, oracle)
  if (render) {
    renderTraceTree(report, 120)
    renderTraceDot(report)
    renderTraceMermaid(report)
  }
  JSON.stringify(report)
  expect(Array.isArray(report.steps)).toBe(true)
}

const ALL = SNAPSHOT_FILES.map((_, i) => i)

describe(`fuzz: snapshot loading and the commands built from a snapshot (${RUNS} loads, ${COMMAND_RUNS} per command)`, () => {
  it('parseSnapshot gives a snapshot or one UserError line for byte-, line- and token-mutated snapshot files', () => {
    check(textCases(SEEDS), (c) => void loadOrUserError(textOf(SEEDS, c)))
  }, TEST_TIMEOUT)

  it('parseSnapshot gives a snapshot or one UserError line for structurally edited snapshot files', () => {
    check(jsonCases(SEEDS), (c) => void loadOrUserError(jsonOf(SEEDS, c)))
  }, TEST_TIMEOUT)

  it('a snapshot whose meta and output fields have the wrong types loads with a UserError or answers every command', async () => {
    // Every field parseSnapshot does not check itself: meta's, and an output's input, exitCode, failure, message.
    const field = fc.record({
      where: fc.constantFrom('meta', 'output'),
      key: fc.constantFrom('hostname', 'kernel', 'netns', 'takenAt', 'note', 'tools', 'input', 'exitCode', 'failure', 'message', 'durationMs', 'argv'),
      output: fc.nat(),
      v: fc.oneof(WRONG, fc.constantFrom('not-recorded', 'missing-binary', 'permission', 'timeout', 'exit', 'signal')),
    })
    const command = fc.constantFrom('hooks' as const, 'marks' as const, 'trace' as const)
    await checkAsync(fc.tuple(fc.constantFrom(...ALL), fc.array(field, {minLength: 1, maxLength: 3}), command, RENDER), async ([file, fields, cmd, render]) => {
      const s = snapshot(SNAPSHOT_FILES[file]!) as unknown as {meta: Record<string, unknown>; outputs: Array<Record<string, unknown>>}
      for (const f of fields) {
        const target = f.where === 'meta' ? s.meta : s.outputs[f.output % s.outputs.length]!
        target[f.key] = f.v
      }
      const text = JSON.stringify(s)
      const loaded = loadOrUserError(text)
      if (!loaded) return
      const src = new SnapshotSource(loaded, 'f.json')
      await timedAsync(() => (cmd === 'hooks' ? hooksAnswer(src, render) : cmd === 'marks' ? marksAnswer(src, render) : traceAnswer([src], render)), COMMAND_LIMIT_MS)
    }, COMMAND_RUNS)
  }, TEST_TIMEOUT)

  it('hooks answers from a snapshot with mutated tool outputs', async () => {
    await checkAsync(fc.tuple(snapCases(ALL), RENDER), async ([c, render]) => {
      const src = reload(snapOf(c))
      if (src) await timedAsync(() => hooksAnswer(src, render), COMMAND_LIMIT_MS)
    }, COMMAND_RUNS)
  }, TEST_TIMEOUT)

  it('marks answers from a snapshot with mutated tool outputs', async () => {
    await checkAsync(fc.tuple(snapCases(ALL), RENDER), async ([c, render]) => {
      const src = reload(snapOf(c))
      if (src) await timedAsync(() => marksAnswer(src, render), COMMAND_LIMIT_MS)
    }, COMMAND_RUNS)
  }, TEST_TIMEOUT)

  it('trace answers across the two reference nodes with mutated tool outputs on either', async () => {
    // node1 and node2 (docs/scenario.md#the-walk crosses both); either or both mutated.
    const [n1, n2] = [SNAPSHOT_FILES.indexOf('testdata/reference/node1.json'), SNAPSHOT_FILES.indexOf('testdata/reference/node2.json')]
    const side = (i: number) => fc.option(snapCases([i]), {nil: undefined})
    await checkAsync(fc.tuple(side(n1), side(n2), RENDER), async ([a, b, render]) => {
      const srcs = [a ? reload(snapOf(a)) : reload(snapshot(SNAPSHOT_FILES[n1]!)), b ? reload(snapOf(b)) : reload(snapshot(SNAPSHOT_FILES[n2]!))]
      if (srcs.every((s) => s !== undefined)) await timedAsync(() => traceAnswer(srcs as SnapshotSource[], render), COMMAND_LIMIT_MS * 2)
    }, COMMAND_RUNS)
  }, TEST_TIMEOUT)

  it.runIf(LONG_MODE)('trace answers on the marks node alone with mutated tool outputs', async () => {
    await checkAsync(fc.tuple(snapCases([SNAPSHOT_FILES.indexOf('testdata/snapshots/marks-node.json')]), RENDER), async ([c, render]) => {
      const src = reload(snapOf(c))
      if (src) await timedAsync(() => traceAnswer([src], render), COMMAND_LIMIT_MS)
    }, COMMAND_RUNS)
  }, TEST_TIMEOUT)
})
