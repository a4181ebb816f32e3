// Standard output handed over as it arrives: a live run gives the first piece before the tool ends; a snapshot
// replays its recorded text; a recording keeps the whole text whatever was streamed; a source without `stream`
// gets the output whole at the end.
import {describe, expect, it} from 'vitest'
import {runCommand, STREAMED_HEAD_CHARS} from '../../src/source/run-command.js'
import {RecordingSource, SnapshotSource, type SnapshotFile} from '../../src/source/snapshot.js'
import {runStreaming, type RawOutput, type Source} from '../../src/source/types.js'
import {liveSource} from '../../src/state/sources.js'

const SCRIPT = 'printf "one\\ntw"; sleep 0.4; printf "o\\nthree"'

describe('streaming stdout', () => {
  it('runCommand hands pieces over while the tool still runs, and the result holds the text (short: whole)', async () => {
    const seen: Array<{chunk: string; at: number}> = []
    const t0 = performance.now()
    const out = await runCommand({file: 'sh', args: ['-c', SCRIPT], logicalArgv: ['sh', '-c', SCRIPT]}, (chunk) => seen.push({chunk, at: performance.now() - t0}))
    const ended = performance.now() - t0
    expect(out.failure).toBeUndefined()
    expect(out.stdout).toBe('one\ntwo\nthree')
    expect(seen.map((s) => s.chunk).join('')).toBe(out.stdout)
    expect(seen[0]!.chunk).toBe('one\ntw')
    // The first piece came before the sleep ended: it was not held until the tool exited.
    expect(ended - seen[0]!.at).toBeGreaterThan(250)
  })

  // A 110k-rule dump is 16 MB: its pieces go to the parser, and the result keeps only the head it is judged by.
  const BIG = `node -e "process.stdout.write('x'.repeat(${STREAMED_HEAD_CHARS * 3 + 7}))"`
  it('a streamed run longer than STREAMED_HEAD_CHARS: every piece to the caller, its head in the result; a recording keeps it whole', async () => {
    const pieces: string[] = []
    const out = await runCommand({file: 'sh', args: ['-c', BIG], logicalArgv: ['sh', '-c', BIG]}, (c) => pieces.push(c))
    expect(out.failure).toBeUndefined()
    expect(pieces.join('').length).toBe(STREAMED_HEAD_CHARS * 3 + 7)
    expect(out.stdout).toBe('x'.repeat(STREAMED_HEAD_CHARS))
    // Without a caller taking pieces, the result is whole.
    expect((await runCommand({file: 'sh', args: ['-c', BIG], logicalArgv: ['sh', '-c', BIG]})).stdout.length).toBe(STREAMED_HEAD_CHARS * 3 + 7)
    const rec = new RecordingSource(liveSource())
    const seen: string[] = []
    const recorded = await runStreaming(rec, {argv: ['sh', '-c', BIG]}, (c) => seen.push(c))
    expect(seen.join('').length).toBe(STREAMED_HEAD_CHARS * 3 + 7)
    expect(recorded.stdout.length).toBe(STREAMED_HEAD_CHARS * 3 + 7)
    expect(rec.toSnapshot().outputs[0]!.stdout.length).toBe(STREAMED_HEAD_CHARS * 3 + 7)
  })

  it('LiveSource.stream and RecordingSource: pieces to the caller, the whole text recorded; a second asker gets it whole', async () => {
    const rec = new RecordingSource(liveSource())
    const pieces: string[] = []
    const out = await runStreaming(rec, {argv: ['sh', '-c', SCRIPT]}, (c) => pieces.push(c))
    expect(pieces.length).toBeGreaterThan(1)
    expect(pieces.join('')).toBe('one\ntwo\nthree')
    const again: string[] = []
    await runStreaming(rec, {argv: ['sh', '-c', SCRIPT]}, (c) => again.push(c))
    expect(again).toEqual(['one\ntwo\nthree'])
    const snap = rec.toSnapshot()
    expect(snap.outputs.map((o) => o.stdout)).toEqual(['one\ntwo\nthree'])
    expect(out.stdout).toBe('one\ntwo\nthree')

    // Replayed from the snapshot: the recorded text, once.
    const replay: string[] = []
    const r = await runStreaming(new SnapshotSource(JSON.parse(JSON.stringify(snap)) as SnapshotFile), {argv: ['sh', '-c', SCRIPT]}, (c) => replay.push(c))
    expect(replay).toEqual(['one\ntwo\nthree'])
    expect(r.stdout).toBe('one\ntwo\nthree')
  })

  it('a source without stream: the output whole when the run ends; nothing for an empty one', async () => {
    const out: RawOutput = {argv: ['x'], stdout: 'a\nb', stderr: '', exitCode: 0, durationMs: 1}
    const src: Source = {meta: {kind: 'snapshot'}, run: async () => out}
    const pieces: string[] = []
    expect(await runStreaming(src, {argv: ['x']}, (c) => pieces.push(c))).toBe(out)
    expect(pieces).toEqual(['a\nb'])
    const empty: Source = {meta: {kind: 'snapshot'}, run: async () => ({...out, stdout: ''})}
    const none: string[] = []
    await runStreaming(empty, {argv: ['x']}, (c) => none.push(c))
    expect(none).toEqual([])
  })
})
